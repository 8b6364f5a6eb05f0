"""Every error is one of ours and the fitting built-in, carries its fields, and pickles."""

import inspect
import pickle
from pathlib import Path

import pytest

from work_data_hub import errors

CLASSES = [
    cls
    for _, cls in inspect.getmembers(errors, inspect.isclass)
    if issubclass(cls, Exception) and cls.__module__ == errors.__name__
]


def test_every_error_is_exported_and_subclasses_ours_and_a_builtin():
    assert sorted(cls.__name__ for cls in CLASSES) == sorted(errors.__all__)
    for cls in CLASSES:
        if cls is errors.WorkDataHubError or issubclass(cls, Warning):
            continue
        assert issubclass(cls, errors.WorkDataHubError), cls
        builtins = [b for b in cls.__mro__[1:] if b.__module__ == "builtins" and b is not Exception]
        assert builtins, f"{cls.__name__} subclasses no fitting built-in"


@pytest.mark.parametrize(
    ("error", "fields", "builtin"),
    [
        (errors.SourceFileError("a.csv line 3 ...", path="a.csv", line=3), {"line": 3}, ValueError),
        (errors.UnknownDomainError("x", known=["a"]), {"domain": "x", "known": ["a"]}, LookupError),
        (
            errors.DomainNotInLogError("x", log=Path("l.csv"), present=["a"]),
            {"domain": "x", "log": Path("l.csv"), "present": ["a"]},
            LookupError,
        ),
        (
            errors.AmbiguousSessionError("etl_2024", ["s1", "s2"]),
            {"matches": ["s1", "s2"]},
            LookupError,
        ),
        (errors.DatabaseNotFoundError("data/wdh.db"), {"path": "data/wdh.db"}, FileNotFoundError),
        (errors.TableLayoutError("t", "c"), {"table": "t", "column": "c"}, RuntimeError),
        (errors.UnsupportedDatabaseError("mysql"), {"dialect": "mysql"}, NotImplementedError),
        (
            errors.ReferenceKeyTooLongError(
                table="company_mapping", key="客户名称", row=2, size=3000, limit=2704
            ),
            {"table": "company_mapping", "row": 2, "size": 3000},
            ValueError,
        ),
        (
            errors.ResumeConflictError("...", source_file="a.csv", labels=[0]),
            {"source_file": "a.csv", "labels": [0]},
            ValueError,
        ),
    ],
)
def test_errors_carry_their_fields_and_say_the_value(error, fields, builtin):
    assert isinstance(error, builtin)
    for name, value in fields.items():
        assert getattr(error, name) == value
    assert "\n" not in str(error)
    again = pickle.loads(pickle.dumps(error))  # as a worker process hands it back
    assert (type(again), str(again)) == (type(error), str(error))
    for name, value in fields.items():
        assert getattr(again, name) == value


def test_os_errors_of_ours_pickle_too():
    error = errors.FailureLogWriteError(28, "writing failure log x failed (No space left)")
    again = pickle.loads(pickle.dumps(error))
    assert (again.errno, str(again)) == (28, str(error))

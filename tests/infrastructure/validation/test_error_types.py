from work_data_hub.infrastructure.validation import ErrorType


def test_four_types_each_value_equal_to_its_name():
    assert [e.value for e in ErrorType] == [
        "VALIDATION_FAILED",
        "DROPPED_IN_PIPELINE",
        "ENRICHMENT_FAILED",
        "FK_CONSTRAINT_VIOLATION",
    ]
    assert all(e.name == e.value for e in ErrorType)


def test_is_a_string_enum():
    assert ErrorType.ENRICHMENT_FAILED == "ENRICHMENT_FAILED"
    assert isinstance(ErrorType.VALIDATION_FAILED, str)
    assert str(ErrorType.FK_CONSTRAINT_VIOLATION) == "FK_CONSTRAINT_VIOLATION"

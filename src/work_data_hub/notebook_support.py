"""What ``notebooks/failure_analysis.ipynb`` sets up: fonts for Chinese text, and the
``make run`` job for a logs folder that has no session yet.

Charts and tables show Chinese column names and values. Where no font with
Chinese glyphs is installed they render as boxes, so the notebook names a
fallback list (``FONT_FAMILY``) to matplotlib and to its HTML tables, and says
in one line which package provides one when none of them is installed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from work_data_hub.errors import LogNotFoundError
from work_data_hub.io.database import sqlite_file

__all__ = [
    "CJK_FONTS",
    "CJK_PACKAGE",
    "FONT_FAMILY",
    "FontStyle",
    "cjk_font",
    "installed_fonts",
    "log_samples",
    "missing_font_warning",
    "use_cjk_fonts",
]

#: Fonts with Chinese glyphs, in the order tried: Linux (Noto CJK, whose first face
#: matplotlib reads as JP, and WenQuanYi), Windows, macOS.
CJK_FONTS = (
    "Noto Sans CJK SC",
    "Noto Sans CJK JP",
    "WenQuanYi Zen Hei",
    "Microsoft YaHei",
    "PingFang SC",
    "Hiragino Sans GB",
    "SimHei",
    "Arial Unicode MS",
)
#: The CJK fonts, then matplotlib's own font (Latin text when none of them is installed).
FONT_FAMILY = (*CJK_FONTS, "DejaVu Sans")
#: The Debian (and Ubuntu) package that installs the first of them.
CJK_PACKAGE = "fonts-noto-cjk"

# The notebook's HTML outputs: JupyterLab and Notebook 7, classic Notebook and
# VS Code, and pandas' own tables wherever they are shown.
_OUTPUTS = (".jp-OutputArea-output", ".output_html", ".rendered_html")


def cjk_font(installed: Iterable[str]) -> str | None:
    """The first of ``CJK_FONTS`` among the ``installed`` font names, or None.

    >>> cjk_font(["DejaVu Sans", "SimHei", "WenQuanYi Zen Hei"])
    'WenQuanYi Zen Hei'
    >>> cjk_font(["DejaVu Sans"]) is None
    True
    """
    names = set(installed)
    return next((font for font in CJK_FONTS if font in names), None)


def missing_font_warning(installed: Iterable[str]) -> str | None:
    """The one-line warning to show when none of ``CJK_FONTS`` is ``installed``, else None.

    >>> print(missing_font_warning(["DejaVu Sans"]))
    No CJK font installed: ... (Debian/Ubuntu: apt-get install fonts-noto-cjk), then restart ...
    >>> missing_font_warning(["Noto Sans CJK JP"]) is None
    True
    """
    if cjk_font(installed) is not None:
        return None
    return (
        "No CJK font installed: Chinese text in charts shows as boxes. Install one "
        f"(Debian/Ubuntu: apt-get install {CJK_PACKAGE}), then restart the kernel."
    )


def installed_fonts() -> set[str]:
    """The names of the fonts matplotlib can use, including system fonts installed
    after its font cache was built (which it would otherwise ignore until the cache
    is deleted)."""
    from matplotlib import font_manager

    manager = font_manager.fontManager
    known = {entry.fname for entry in manager.ttflist}
    for path in font_manager.findSystemFonts():
        if path not in known and Path(path).suffix.lower() in {".ttf", ".otf", ".ttc"}:
            try:
                manager.addfont(path)
            except (OSError, RuntimeError, ValueError):  # a font FreeType cannot read
                continue
    # a font removed since the cache was built cannot draw anything
    return {entry.name for entry in manager.ttflist if os.path.exists(entry.fname)}


@dataclass(frozen=True)
class FontStyle:
    """A notebook output that names ``fonts`` (CSS ``font-family``) to the HTML tables
    and their titles shown below it.

    >>> print(FontStyle(("Noto Sans CJK SC",)).css())
    .jp-OutputArea-output table, ..., table.dataframe {
    font-family: 'Noto Sans CJK SC', sans-serif; }
    """

    fonts: tuple[str, ...] = FONT_FAMILY

    def css(self) -> str:
        """The CSS rule."""
        selectors = [f"{area} {element}" for area in _OUTPUTS for element in ("table", "h4")]
        family = ", ".join(f"'{font}'" for font in self.fonts)
        return (
            f"{', '.join([*selectors, 'table.dataframe'])} {{ font-family: {family}, sans-serif; }}"
        )

    def _repr_html_(self) -> str:
        return f"<style>{self.css()}</style>"

    def __repr__(self) -> str:  # a plain console shows no HTML: say what it names
        return f"font-family: {', '.join(self.fonts)}"


def use_cjk_fonts() -> FontStyle:
    """Name ``FONT_FAMILY`` to matplotlib (``rcParams['font.sans-serif']``) and return
    the ``FontStyle`` that names it to the notebook's tables (display it). Prints one
    line on stderr when none of ``CJK_FONTS`` is installed, instead of matplotlib's
    warning for every glyph it cannot draw.
    """
    import matplotlib

    others = [f for f in matplotlib.rcParams["font.sans-serif"] if f not in FONT_FAMILY]
    matplotlib.rcParams["font.family"] = "sans-serif"
    matplotlib.rcParams["font.sans-serif"] = [*FONT_FAMILY, *others]
    warning = missing_font_warning(installed_fonts())
    if warning is not None:
        print(warning, file=sys.stderr)
        warnings.filterwarnings("ignore", "Glyph .* missing from font", UserWarning)
    return FontStyle()


def log_samples(logs_dir: str | Path, db_url: str, source: str | Path) -> int:
    """Run the ``make run`` job, ``wdh-etl --all-domains``, over the samples in
    ``source`` into ``db_url``, logging into ``logs_dir``; print its summary and return
    its exit status (0: done, failed rows included).

    Raises:
        LogNotFoundError: ``db_url`` is not an SQLite file, so the samples are not
            loaded into it (a shared database is no place for them).

    >>> log_samples("logs", "postgresql://etl@db/wdh", "data/samples")
    Traceback (most recent call last):
    ...
    work_data_hub.errors.LogNotFoundError: no failure logs in logs: run wdh-etl first (...
    not into a postgresql database)
    """
    if sqlite_file(db_url) is None:
        raise LogNotFoundError(
            f"no failure logs in {logs_dir}: run wdh-etl first (the notebook loads the "
            "bundled samples only into an SQLite file, not into a "
            f"{make_url(db_url).get_backend_name()} database)",
            path=logs_dir,
        )
    command = [sys.executable, "-m", "work_data_hub.cli.etl", "--all-domains", "--plain"]
    options = ["--source", str(source), "--db", db_url, "--logs-dir", str(logs_dir)]
    print(
        f"No failure log in {logs_dir} yet: the make run job, wdh-etl --all-domains over {source}",
        flush=True,
    )
    done = subprocess.run(
        [*command, *options],
        capture_output=True,
        encoding="utf-8",
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
        check=False,
    )
    print(done.stdout, end="")
    print(done.stderr, end="", file=sys.stderr)
    return done.returncode

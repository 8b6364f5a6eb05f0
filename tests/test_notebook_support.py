"""The notebook's set-up: fonts for Chinese text."""

import subprocess
import sys

from matplotlib import font_manager

from work_data_hub.notebook_support import (
    FONT_FAMILY,
    cjk_font,
    installed_fonts,
    missing_font_warning,
)

# Draws Chinese text after the notebook's set-up, as the notebook's chart would.
DRAW = """
import io
import matplotlib
matplotlib.use("agg")
import matplotlib.pyplot as plt
from work_data_hub.notebook_support import use_cjk_fonts
use_cjk_fonts()
print(matplotlib.rcParams["font.sans-serif"])
figure, axes = plt.subplots()
axes.set_title("计划代码 客户名称 月度")
axes.bar(["年金收入", "年金业绩"], [1, 2])
figure.savefig(io.BytesIO(), format="png")
"""


def test_chinese_text_draws_with_the_fallback_list_and_at_most_one_warning_line():
    done = subprocess.run(
        [sys.executable, "-c", DRAW], capture_output=True, text=True, encoding="utf-8"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(str(list(FONT_FAMILY))[:-1])
    warning = missing_font_warning(installed_fonts())
    # matplotlib would warn once per glyph it cannot draw: here one line says it all
    assert done.stderr.splitlines() == ([] if warning is None else [warning])


def test_a_font_installed_after_matplotlibs_cache_was_built_counts():
    manager = font_manager.fontManager
    system = set(font_manager.findSystemFonts())
    name = next(e.name for e in manager.ttflist if e.fname in system)
    cached = list(manager.ttflist)
    manager.ttflist = [e for e in cached if e.name != name]  # as if installed since
    try:
        assert name in installed_fonts()
    finally:
        manager.ttflist = cached


def test_the_first_cjk_font_installed_is_the_one_named():
    assert cjk_font(["DejaVu Sans", "SimHei", "Noto Sans CJK JP"]) == "Noto Sans CJK JP"
    assert missing_font_warning(["SimHei"]) is None

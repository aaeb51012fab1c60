"""Chinese text in plots is drawn with real glyphs: the CJK font is found, registered, and its glyphs differ."""

from __future__ import annotations

import json
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pytest
from atmp.analysis import plotting
from atmp.core.classify import classify_cards
from atmp.core.rules.resources import catalogue_file
from matplotlib.font_manager import FontProperties
from matplotlib.ft2font import FT2Font

TEXT = "先进治疗药品 高风险 中风险 低风险 细胞治疗 基因治疗"


@pytest.fixture(scope="module")
def family():
    return plotting.use_cjk_font()


def ink(char: str, fontproperties: FontProperties | None = None) -> np.ndarray:
    """Render one character alone and return the canvas as a grey-scale array (0 = white)."""
    fig = plt.figure(figsize=(1, 1), dpi=64)
    fig.text(0.5, 0.5, char, fontsize=40, ha="center", va="center", fontproperties=fontproperties)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the control without a CJK font warns, as it should
        fig.canvas.draw()
    rgb = np.asarray(fig.canvas.buffer_rgba())[..., :3].astype(int)
    plt.close(fig)
    return 255 - rgb.mean(axis=2)


def test_the_font_file_covers_the_chinese_we_print():
    path = plotting.cjk_font_file()
    assert path is not None and path.is_file(), "the notebooks extra (mplfonts) ships Noto Sans CJK SC"
    charmap = FT2Font(str(path)).get_charmap()
    labels = plotting.result_labels()
    used = {ch for lab in labels.values() for ch in lab.get("zh", "")} | set(TEXT.replace(" ", ""))
    missing = sorted(ch for ch in used if ord(ch) > 0x2E7F and ord(ch) not in charmap)
    assert not missing, f"no glyph for {''.join(missing)}"


def test_chinese_text_draws_without_missing_glyphs(family):
    assert family == "Noto Sans CJK SC"
    fig, ax = plt.subplots()
    ax.set_title(TEXT)
    ax.set_xticks([0, 1], ["高风险（天津）", "中风险（天津）"])
    assert plotting.missing_glyphs(fig) == []
    plt.close(fig)


def test_the_check_detects_boxes_when_the_font_lacks_the_glyphs(family):
    fig, ax = plt.subplots()
    ax.set_title(TEXT, fontproperties=FontProperties(family="DejaVu Sans"))
    warnings = plotting.missing_glyphs(fig)
    plt.close(fig)
    assert warnings and all("missing from font" in w for w in warnings)


def test_distinct_characters_leave_distinct_ink(family):
    a, b = ink("先"), ink("药")
    assert (a > 64).sum() > 40 and (b > 64).sum() > 40, "each character leaves ink"
    assert np.abs(a - b).mean() > 5, "two different characters must not render as the same box"
    # the control: without a CJK font both become the same placeholder box
    box_a, box_b = (ink(c, FontProperties(family="DejaVu Sans")) for c in "先药")
    assert np.abs(box_a - box_b).mean() < 0.5


def test_catalogue_plots_render_with_glyphs(family, model):
    cards = json.loads(catalogue_file().read_text(encoding="utf-8"))[:20]
    results = classify_cards(cards, engine="compiled", model=model)
    for fig in (plotting.plot_subclass_by_tier(results, model), plotting.plot_criteria(cards, results, model), plotting.plot_class_by_category(results, model)):
        assert plotting.missing_glyphs(fig) == []
        plt.close(fig)
    matrix = plotting.criteria_matrix(cards, results)
    assert list(matrix.columns) == list(range(1, 15)) and set(matrix.values.ravel()) <= {0, 1}
    assert plotting.crosstab(results, "nmpa.class", "tianjin.category").values.sum() == len(results)

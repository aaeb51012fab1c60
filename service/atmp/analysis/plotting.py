"""Tables and plots for the notebooks, with Chinese text that renders as glyphs, not boxes.

matplotlib's own fonts (DejaVu) have no CJK glyphs and CI machines have no CJK system font, so
:func:`use_cjk_font` registers a font with Simplified Chinese glyphs: ``ATMP_CJK_FONT`` when set,
else Noto Sans CJK SC from the ``mplfonts`` wheel (a dependency of the ``notebooks`` extra), else a
system font matplotlib already knows. :func:`missing_glyphs` draws a figure and returns matplotlib's
"Glyph ... missing from font" warnings, so a notebook or a test can prove the text was drawn.

pandas and matplotlib are imported here only: the service does not need them.
"""

from __future__ import annotations

import importlib.util
import os
import warnings
from pathlib import Path

from atmp.core.rules import layout
from atmp.core.rules.layout import CRITERIA, RISK_TIER
from atmp.core.rules.ontology import OntologyModel, load_model

CJK_FONT_ENV = "ATMP_CJK_FONT"
# font files with Simplified Chinese glyphs shipped inside PyPI packages, first found wins
PACKAGED_FONTS = (("mplfonts", "fonts/NotoSansCJKsc-Regular.otf"),)
SYSTEM_CJK_FAMILIES = ("Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Micro Hei", "WenQuanYi Zen Hei", "Droid Sans Fallback")


class FontUnavailable(RuntimeError):
    """No font with Chinese glyphs could be found."""


def cjk_font_file() -> Path | None:
    """A font file with Simplified Chinese glyphs: ``$ATMP_CJK_FONT``, else one shipped in a PyPI package."""
    if os.environ.get(CJK_FONT_ENV):
        path = Path(os.environ[CJK_FONT_ENV])
        if not path.is_file():
            raise FontUnavailable(f"{CJK_FONT_ENV}={path}: no such file")
        return path
    for package, rel in PACKAGED_FONTS:
        spec = importlib.util.find_spec(package)  # located, not imported: the package's own code is not needed
        for root in (spec.submodule_search_locations or []) if spec else []:
            path = Path(root) / rel
            if path.is_file():
                return path
    return None


def use_cjk_font() -> str:
    """Register a CJK font with matplotlib and put it first in the sans-serif list. Returns its family name."""
    import matplotlib as mpl
    from matplotlib import font_manager

    path = cjk_font_file()
    if path is not None:
        if str(path) not in {f.fname for f in font_manager.fontManager.ttflist}:
            font_manager.fontManager.addfont(str(path))
        family = font_manager.FontProperties(fname=str(path)).get_name()
    else:
        known = {f.name for f in font_manager.fontManager.ttflist}
        family = next((f for f in SYSTEM_CJK_FAMILIES if f in known), "")
        if not family:
            raise FontUnavailable("no font with Chinese glyphs: install the 'notebooks' extra (mplfonts) or set ATMP_CJK_FONT to a .otf/.ttf file")
    mpl.rcParams["font.family"] = "sans-serif"
    mpl.rcParams["font.sans-serif"] = [family, *[f for f in mpl.rcParams["font.sans-serif"] if f != family]]
    mpl.rcParams["axes.unicode_minus"] = False
    return family


def missing_glyphs(fig) -> list[str]:
    """Draw ``fig`` and return matplotlib's warnings about glyphs missing from the fonts (empty = all drawn)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig.canvas.draw()
    return [str(w.message) for w in caught if "missing from font" in str(w.message)]


# -- tables ------------------------------------------------------------------------------------------


def result_labels(model: OntologyModel | None = None) -> dict[tuple[str, object], dict[str, str]]:
    """Bilingual labels of result values from the ontology: (result field, code or criterion number) -> {en, zh}."""
    model = model or load_model()
    out: dict[tuple[str, object], dict[str, str]] = {}
    for rc in model.result_classes:
        key = rc.number if rc.field == CRITERIA else rc.code
        out[(rc.field, key)] = rc.label
    return out


def bilingual(labels: dict, field: str, code, sep: str = "\n") -> str:
    """``中文<sep>code`` for a result value (``—`` for none)."""
    if code is None:
        return "—"
    zh = labels.get((field, code), {}).get("zh")
    return f"{zh}{sep}{code}" if zh and zh != str(code) else str(code)


def results_frame(cards: list[dict], results: list[dict]):
    """One row per product: labels (zh, en) and the result fields."""
    import pandas as pd

    rows = []
    for card, r in zip(cards, results, strict=True):
        label = card.get("label") or {}
        rows.append(
            {
                "id": r["id"],
                "名称": label.get("zh", ""),
                "name": label.get("en", ""),
                "atmp": r["atmp"],
                "exclusion": r["exclusion"],
                "class": r["nmpa"]["class"],
                "subclass": r["nmpa"]["subclass"],
                "category": r["tianjin"]["category"],
                "subcategory": r["tianjin"]["subcategory"],
                "tier": r["tianjin"]["risk_tier"],
                "criteria": r["tianjin"]["criteria"],
                "borderline": [b["code"] for b in r["borderline"]],
                "conforms": r["conforms"],
            }
        )
    return pd.DataFrame(rows)


def borderline_frame(cards: list[dict], results: list[dict]):
    """One row per (product, borderline situation): code, source and the message in both languages."""
    import pandas as pd

    rows = []
    for card, r in zip(cards, results, strict=True):
        for b in r["borderline"]:
            rows.append(
                {
                    "id": r["id"],
                    "名称": (card.get("label") or {}).get("zh", ""),
                    "borderline": b["code"],
                    "source": b.get("source", ""),
                    "说明": (b.get("message") or {}).get("zh", ""),
                    "message": (b.get("message") or {}).get("en", ""),
                }
            )
    return pd.DataFrame(rows, columns=["id", "名称", "borderline", "source", "说明", "message"])


def criteria_columns(model: OntologyModel | None = None) -> list[int]:
    """The criterion numbers in the ontology, grouped by the tier whose definition counts them (tiers by rank)."""
    return [n for _, numbers in (model or load_model()).criteria_by_tier() for n in numbers]


def criteria_dividers(model: OntologyModel | None = None) -> list[float]:
    """x positions between the tier groups of :func:`criteria_columns` (for divider lines)."""
    sizes = [len(numbers) for _, numbers in (model or load_model()).criteria_by_tier() if numbers]
    edges, at = [], 0
    for size in sizes[:-1]:
        at += size
        edges.append(at - 0.5)
    return edges


def criteria_matrix(cards: list[dict], results: list[dict], only_graded: bool = True, model: OntologyModel | None = None):
    """Products × the Tianjin criteria (1 = met), rows labelled in Chinese, ordered by tier then criteria.

    Columns are the ontology's criteria grouped by tier (:func:`criteria_columns`); rows follow the tiers' ``atmp:rank``.
    """
    import pandas as pd

    model = model or load_model()
    columns = criteria_columns(model)
    order = {t: i for i, t in enumerate(model.codes(RISK_TIER))}
    rows, index = [], []
    pairs = [(c, r) for c, r in zip(cards, results, strict=True) if r["tianjin"]["risk_tier"] or not only_graded]
    pairs.sort(key=lambda cr: (order.get(cr[1]["tianjin"]["risk_tier"], 9), cr[1]["tianjin"]["criteria"], cr[1]["id"]))
    for card, r in pairs:
        met = set(r["tianjin"]["criteria"])
        rows.append([1 if n in met else 0 for n in columns])
        label = card.get("label") or {}
        index.append(label.get("zh") or label.get("en") or r["id"])
    return pd.DataFrame(rows, index=index, columns=columns)


def crosstab(results: list[dict], row: str, col: str, model: OntologyModel | None = None):
    """Counts of products by two result fields (dotted paths, e.g. ``nmpa.subclass`` × ``tianjin.risk_tier``); None shows as ``—``."""
    import pandas as pd

    def get(r, path):
        v = layout.get(r, path)
        return "—" if v is None else v

    frame = pd.DataFrame({row: [get(r, row) for r in results], col: [get(r, col) for r in results]})
    table = pd.crosstab(frame[row], frame[col])
    if col == RISK_TIER:  # the tiers in the ontology's order, not alphabetical
        table = table[[c for c in (*(model or load_model()).codes(RISK_TIER), "—") if c in table.columns]]
    return table


# -- plots -------------------------------------------------------------------------------------------


def heatmap(table, ax, title: str, labels: dict | None = None, row_field: str | None = None, col_field: str | None = None, cmap: str = "Blues", annotate: bool = True):
    """Draw a count table as an annotated heat-map with bilingual tick labels."""
    import numpy as np

    data = np.asarray(table.values, dtype=float)
    ax.imshow(data, cmap=cmap, aspect="auto", vmin=0)
    rows = [bilingual(labels, row_field, None if r == "—" else r, " · ") if labels and row_field else str(r) for r in table.index]
    cols = [bilingual(labels, col_field, None if c == "—" else c, "\n") if labels and col_field else str(c) for c in table.columns]
    ax.set_xticks(range(len(cols)), cols)
    ax.set_yticks(range(len(rows)), rows)
    if annotate:
        top = data.max() if data.size else 0
        for i in range(data.shape[0]):
            for j in range(data.shape[1]):
                if data[i, j]:
                    ax.text(j, i, f"{int(data[i, j])}", ha="center", va="center", color="white" if data[i, j] > top / 2 else "black", fontsize=9)
    ax.set_title(title)
    return ax


def plot_subclass_by_tier(results: list[dict], model: OntologyModel | None = None):
    """Products per NMPA subclass × Tianjin tier; products N excludes appear under their exclusion, at the bottom."""
    import matplotlib.pyplot as plt

    labels = result_labels(model)
    rows = [{"row": r["nmpa"]["subclass"] if r["atmp"] else f"~{r['exclusion']}", "tianjin": r["tianjin"]} for r in results]
    table = crosstab(rows, "row", RISK_TIER, model)
    table = table.loc[sorted(table.index, key=lambda r: (r.startswith("~"), -int(table.loc[r].sum()), r))]
    excluded = sum(1 for r in table.index if r.startswith("~"))
    table.index = [bilingual(labels, "exclusion", r[1:], " · ") if r.startswith("~") else bilingual(labels, "nmpa.subclass", r, " · ") for r in table.index]
    fig, ax = plt.subplots(figsize=(9, 0.42 * len(table) + 1.9))
    heatmap(table, ax, "NMPA 亚类 × 天津风险等级\nNMPA subclass × Tianjin risk tier", labels, None, RISK_TIER)
    if excluded:
        ax.axhline(len(table) - excluded - 0.5, color="grey", lw=0.8)
    ax.set_xlabel("天津风险等级 Tianjin risk tier (— 未分级 not graded)")
    ax.set_ylabel("NMPA 亚类 subclass / 排除情形 exclusion")
    fig.tight_layout()
    return fig


def plot_criteria(cards: list[dict], results: list[dict], model: OntologyModel | None = None):
    """The criteria heat-map: graded products (rows, Chinese name when the card has one) × the Tianjin criteria.

    Columns, their grouping and the divider lines come from the tiers' definitions in the ontology
    (:meth:`OntologyModel.criteria_by_tier`), so an edit that moves a criterion out of a tier moves it here too.
    """
    import matplotlib.pyplot as plt

    model = model or load_model()
    labels = result_labels(model)
    matrix = criteria_matrix(cards, results, model=model)
    columns = list(matrix.columns)
    tiers = [r["tianjin"]["risk_tier"] for r in results if r["tianjin"]["risk_tier"]]
    fig, ax = plt.subplots(figsize=(9, 0.19 * len(matrix) + 3))
    ax.imshow(matrix.values, cmap="Reds", aspect="auto", vmin=0, vmax=1.4)
    ticks = [f"{n} {_short(labels.get((CRITERIA, n), {}).get('zh', '').split('：', 1)[-1], 9)}" for n in columns]
    ax.set_xticks(range(len(columns)), ticks, rotation=55, ha="right", rotation_mode="anchor", fontsize=8)
    ax.set_yticks(range(len(matrix)), [_short(i, 26) for i in matrix.index], fontsize=6)
    ax.set_title(
        f"天津{len(columns)}项分级标准 / the {len(columns)} Tianjin criteria\n"
        + " · ".join(f"{t} {tiers.count(t)}" for t in model.codes(RISK_TIER))
        + f"（{len(matrix)} 个分级产品 graded products）"
    )
    for x in criteria_dividers(model):  # between the tier groups the ontology's tier definitions make
        ax.axvline(x, color="grey", lw=0.8)
    fig.tight_layout()
    return fig


def _short(text: str, n: int = 6) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def plot_class_by_category(results: list[dict], model: OntologyModel | None = None):
    """The N class vs T category cross-tab (who regulates what as what)."""
    import matplotlib.pyplot as plt

    labels = result_labels(model)
    table = crosstab(results, "nmpa.class", "tianjin.category", model)
    fig, ax = plt.subplots(figsize=(7, 3.2))
    heatmap(table, ax, "NMPA 类别 × 天津类别 / NMPA class × Tianjin category", labels, "nmpa.class", "tianjin.category", cmap="Greens")
    ax.set_xlabel("天津类别 Tianjin category (— 不在范围 out of scope)")
    ax.set_ylabel("NMPA 类别 class (— 非ATMP not an ATMP)")
    fig.tight_layout()
    return fig

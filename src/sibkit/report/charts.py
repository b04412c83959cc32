"""Charts as PNG bytes, byte-for-byte reproducible (matplotlib Agg, bundled font, no timestamps)."""

from __future__ import annotations

import io
import textwrap

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

STYLE = {"font.family": "DejaVu Sans", "font.size": 9, "axes.spines.top": False, "axes.spines.right": False,
         "svg.hashsalt": "sibkit"}
SUCCESS_COLOUR, STRUGGLE_COLOUR = "#1b7837", "#b2182b"


def _png(figure: plt.Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    plt.close(figure)
    return buffer.getvalue()


def findings_chart(findings: pd.DataFrame, names: dict[str, str]) -> bytes:
    """Share of cases associated with each theme, successful vs struggling (n in the legend)."""
    with plt.rc_context(STYLE):
        order = findings.sort_values("difference_pp", ascending=True)
        labels = [names.get(t, t) for t in order["theme"]]
        y = np.arange(len(order))
        figure, axes = plt.subplots(figsize=(7.5, 0.38 * len(order) + 1.2))
        n_s = int(order["n_successful"].max()) if len(order) else 0
        n_t = int(order["n_struggling"].max()) if len(order) else 0
        axes.barh(y + 0.2, 100 * order["share_successful"].fillna(0), height=0.4, color=SUCCESS_COLOUR,
                  label=f"successful (n={n_s})")
        axes.barh(y - 0.2, 100 * order["share_struggling"].fillna(0), height=0.4, color=STRUGGLE_COLOUR,
                  label=f"struggling (n={n_t})")
        axes.set_yticks(y, labels)
        axes.set_xlim(0, 100)
        axes.set_xlabel("% of cases associated with the theme")
        axes.legend(loc="lower right", frameon=False)
        return _png(figure)


def heatmap(matrix: pd.DataFrame, names: dict[str, str], case_order: list[str], classes: dict[str, str],
            marked: set[str] | None = None, mark: str = "") -> bytes:
    """References per 10,000 words, case x theme (cases in ``marked`` labelled with ``mark``)."""
    marked = marked or set()
    with plt.rc_context(STYLE):
        table = matrix.pivot(index="case_id", columns="theme", values="rate_per_10k").reindex(case_order)
        figure, axes = plt.subplots(figsize=(0.45 * len(table.columns) + 3.5, 0.28 * len(table) + 1.8))
        image = axes.imshow(table.to_numpy(dtype=float), aspect="auto", cmap="Greens")
        axes.set_xticks(range(len(table.columns)), [names.get(t, t) for t in table.columns], rotation=60,
                        ha="right")
        labels = [f"{c}{' ' + mark if c in marked else ''} ({classes.get(c, '')})" for c in table.index]
        axes.set_yticks(range(len(table)), labels)
        figure.colorbar(image, ax=axes, label="references per 10,000 words", shrink=0.6)
        return _png(figure)


def theme_charts(findings: pd.DataFrame, names: dict[str, str], columns: int = 4) -> bytes:
    """One small bar chart per theme: % of successful and of struggling cases associated, n shown."""
    with plt.rc_context(STYLE):
        rows = max(1, -(-len(findings) // columns))
        figure, grid = plt.subplots(rows, columns, figsize=(2.3 * columns, 2.4 * rows), squeeze=False)
        for axes in grid.flat[len(findings):]:
            axes.set_visible(False)
        for axes, finding in zip(grid.flat, findings.to_dict("records"), strict=False):
            values = [100 * (finding["share_successful"] or 0), 100 * (finding["share_struggling"] or 0)]
            values = [0.0 if v != v else v for v in values]
            axes.bar([0, 1], values, color=[SUCCESS_COLOUR, STRUGGLE_COLOUR], width=0.6)
            axes.set_xticks([0, 1], [f"succ.\nn={finding['n_successful']}", f"strug.\nn={finding['n_struggling']}"],
                           fontsize=7)
            axes.set_ylim(0, 100)
            axes.tick_params(axis="y", labelsize=7)
            name = names.get(finding["theme"], finding["theme"])
            axes.set_title("\n".join(textwrap.wrap(name, 28)[:3]), fontsize=8)
        figure.supylabel("% of cases associated", fontsize=8)
        figure.tight_layout()
        return _png(figure)

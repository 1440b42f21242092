"""The recall-vs-budget plot: failures caught per method as the weekly visit budget grows."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from models import metrics

STYLE = {
    "model": ("#1f77b4", "-", "learned model"),
    "oracle": ("#2ca02c", "--", "oracle (true risk)"),
    "hours_rule": ("#ff7f0e", "-.", "hour-interval rule"),
    "fault_rule": ("#d62728", ":", "fault-code rule"),
    "calendar_rule": ("#7f7f7f", "-.", "calendar rule"),
}


def recall_curves(predictions: pd.DataFrame, methods: list[str],
                  budgets: tuple[float, ...]) -> dict[str, dict[str, float | None]]:
    """Recall at each budget for each method column of the evaluation predictions."""
    out = {}
    for m in methods:
        rows = predictions.dropna(subset=[m])
        out[m] = metrics.recall_at_budget(rows.assign(p=rows[m]), budgets)
    return out


def plot_recall(predictions: pd.DataFrame, path: str | Path, methods: list[str],
                budgets: tuple[float, ...], title: str = "") -> Path:
    """Write a PNG of recall vs budget per method; returns the path."""
    import matplotlib

    matplotlib.use("Agg")  # files only, never a window
    import matplotlib.pyplot as plt

    curves = recall_curves(predictions, methods, budgets)
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=120)
    for m in methods:
        colour, line, label = STYLE.get(m, (None, "-", m))
        xs = [b * 100 for b in budgets]
        ys = [(curves[m][metrics.budget_key(b)] or 0.0) * 100 for b in budgets]
        ax.plot(xs, ys, line, color=colour, marker="o", markersize=3, label=label)
    for b in metrics.BUDGETS:
        ax.axvline(b * 100, color="#dddddd", lw=0.8, zorder=0)
    ax.set_xlabel("weekly visit budget, % of fleet")
    ax.set_ylabel("failures in the next H days caught, %")
    ax.set_title(title or "Failures caught at equal visit budget")
    ax.set_xlim(0, max(budgets) * 100)
    ax.set_ylim(0, None)
    ax.legend(loc="upper left", frameon=False)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path

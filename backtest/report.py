"""The one-page report: the plots a service manager reads, as PNG or self-contained HTML."""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path
from typing import Any

COLOURS = {"reactive": "#9e9e9e", "calendar": "#f4a259", "hours": "#5b8e7d",
           "predictive": "#3066be", "oracle": "#8c4f9f"}
ABLATION_COLOUR = "#9fb8e6"
COST_PARTS = (("breakdown_repair_cost", "breakdown repairs"),
              ("breakdown_downtime_cost", "breakdown downtime"),
              ("visit_cost", "保健 visits"), ("other_service_cost", "customer services"),
              ("express_parts_cost", "express parts"))


def figure(summary: dict[str, Any]) -> Any:
    """A 2 x 3 matplotlib figure of the summary."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams["font.family"] = ["DejaVu Sans"]
    cfg = summary["config"]
    policies = [p for p in cfg["policies"] if p in summary]
    colours = [COLOURS.get(p, ABLATION_COLOUR if p.startswith("predictive_no_") else "#333333")
               for p in policies]
    reps = summary.get("replications", [])
    fig, axes = plt.subplots(2, 3, figsize=(17, 9.5))
    fig.suptitle(f"Closed-loop backtest: {cfg['machines']} machines, {cfg['weeks']} weeks from "
                 f"{cfg['start']}, {cfg['seeds']} seed(s); every policy may use "
                 f"{cfg['tech_days_per_week']} technician-days a week", fontsize=13)

    ax = axes[0, 0]
    total = [summary[p]["breakdowns"] for p in policies]
    peak = [summary[p]["peak_breakdowns"] for p in policies]
    ax.bar(policies, total, color=colours, alpha=0.35, label="all breakdowns")
    ax.bar(policies, peak, color=colours, label="in peak season")
    _spread(ax, policies, reps, "peak_breakdowns")
    _interval(ax, policies, reps, "peak_breakdowns")
    ax.set_title("Breakdowns (solid: in the region's peak season, with 95 % CI)")
    ax.tick_params(axis="x", labelrotation=20)
    ax.legend(loc="upper right", fontsize=8)

    ax = axes[0, 1]
    bottom = [0.0] * len(policies)
    shades = ("#c0392b", "#e67e22", "#2e86c1", "#76b7b2", "#7f8c8d")
    for (key, label), shade in zip(COST_PARTS, shades, strict=True):
        vals = [(summary[p].get(key) or 0) / 1e6 for p in policies]
        ax.bar(policies, vals, bottom=bottom, label=label, color=shade)
        bottom = [b + v for b, v in zip(bottom, vals, strict=True)]
    ax.set_title("Total cost, M CNY")
    ax.legend(fontsize=8, loc="lower right")

    ax = axes[0, 2]
    diffs = summary.get("differences", {})
    names, means, lows, highs = [], [], [], []
    for name, d in diffs.items():
        cost = d.get("total_cost")
        if not cost:
            continue
        names.append(name.replace("predictive_vs_", "vs "))
        means.append(cost["mean"] / 1e6)
        ci = cost.get("ci95") or [cost["mean"], cost["mean"]]
        lows.append(cost["mean"] / 1e6 - ci[0] / 1e6)
        highs.append(ci[1] / 1e6 - cost["mean"] / 1e6)
    if names:
        ax.errorbar(means, range(len(names)), xerr=[lows, highs], fmt="o", color="#3066be",
                    capsize=4)
        ax.set_yticks(range(len(names)), names)
        ax.axvline(0, color="black", lw=0.8)
    ax.set_title("Predictive minus other policy: total cost, M CNY (95 % CI)")

    ax = axes[1, 0]
    weekly = summary.get("weekly", {})
    share = summary.get("peak_share_by_week", [])
    for w, s in enumerate(share):
        if s > 0:
            ax.axvspan(w - 0.5, w + 0.5, color="#ffe08a", alpha=0.6 * s, lw=0)
    for p, c in zip(policies, colours, strict=True):
        if p in weekly:
            ax.plot(weekly[p]["breakdowns"], color=c, label=p, lw=1.8)
    ax.set_xlabel("week of the season (shaded: share of machines in peak season)")
    ax.set_title("Breakdowns per week")
    ax.legend(fontsize=8)

    ax = axes[1, 1]
    down = [summary[p]["breakdown_downtime_h"] for p in policies]
    vdown = [summary[p]["visit_downtime_h"] for p in policies]
    ax.bar(policies, down, color=colours, label="breakdowns")
    ax.bar(policies, vdown, bottom=down, color=colours, alpha=0.35, label="保健 visits")
    ax.set_title("Machine downtime, hours (light: planned visits)")
    ax.legend(fontsize=8)

    ax = axes[1, 2]
    ax.axis("off")
    rows = [["", *policies]]
    for key, label, fmt in (("visits", "保健 visits", "{:,.0f}"),
                            ("defects_found", "defects found", "{:,.0f}"),
                            ("technician_utilisation", "technician use", "{:.0%}"),
                            ("fill_rate", "parts fill rate", "{:.0%}"),
                            ("mean_stock_value", "stock held, k CNY", "{:,.0f}"),
                            ("service_cost", "service cost, M", "{:,.2f}"),
                            ("breakdown_cost", "breakdown cost, M", "{:,.2f}")):
        cells = [label]
        for p in policies:
            v = summary[p].get(key)
            if v is not None and key.endswith("cost"):
                v = v / 1e6
            if v is not None and key == "mean_stock_value":
                v = v / 1e3
            cells.append("-" if v is None else fmt.format(v))
        rows.append(cells)
    table = ax.table(cellText=rows, loc="center", cellLoc="center")
    table.auto_set_font_size(False)
    table.set_fontsize(9)
    table.scale(1, 1.6)
    bars = summary.get("bars") or {}
    if bars:
        red = bars.get("peak_breakdown_reduction")
        below = "<" if bars.get("lower_total_cost_ci_excludes_zero") else "not <"
        ax.set_title(f"{'-' if red is None else f'{red:.0%}'} fewer peak breakdowns than "
                     f"{bars['best_rule']}; cost CI vs "
                     f"{bars.get('cheapest_rule', bars['best_rule'])} {below} 0", fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.96))
    return fig


def _interval(ax: Any, policies: list[str], reps: list[dict[str, Any]], key: str) -> None:
    """The 95 % interval of each policy's mean over replications (two or more)."""
    from backtest.stats import mean_ci

    for k, p in enumerate(policies):
        vals = [r[key] for r in reps if r["policy"] == p]
        if len(vals) < 2:
            continue
        ci = mean_ci(vals)
        lo, hi = ci["ci95"]
        ax.errorbar([k], [ci["mean"]], yerr=[[ci["mean"] - lo], [hi - ci["mean"]]],
                    color="black", capsize=5, lw=1.5, zorder=4)


def ablation_table(summary: dict[str, Any]) -> str:
    """The ablation rows as an HTML table ('' without an ablation run)."""
    rows = summary.get("ablation") or []
    if not rows:
        return ""
    full = summary.get("predictive", {})

    def ci(row: dict[str, Any], key: str, scale: float = 1.0) -> str:
        c = row.get(f"{key}_contribution_ci95")
        return "" if not c else f" [{c[0] / scale:+,.2f}, {c[1] / scale:+,.2f}]"

    body = "".join(
        f"<tr><td>{html.escape(r['policy'].removeprefix('predictive_no_'))}</td>"
        f"<td>{r.get('peak_breakdowns', 0):,.1f}</td>"
        f"<td>{r.get('peak_breakdowns_contribution', 0):+,.1f}{ci(r, 'peak_breakdowns')}</td>"
        f"<td>{r.get('total_cost_contribution', 0) / 1e6:+,.2f}{ci(r, 'total_cost', 1e6)}</td>"
        f"<td>{r.get('tech_days_used', 0):,.0f}</td></tr>" for r in rows)
    return ("<h2>What each piece of the predictive planner is worth</h2>"
            "<p>The predictive policy with one piece switched off, against the full policy "
            f"({full.get('peak_breakdowns', 0):,.1f} peak-season breakdowns); positive: "
            "the piece prevents that many breakdowns or saves that much (paired by seed, "
            "95 % CI).</p><table border='1' cellpadding='4' style='border-collapse:collapse'>"
            "<tr><th>switched off</th><th>peak breakdowns</th><th>more peak breakdowns "
            "without it</th><th>more total cost without it, M CNY</th>"
            f"<th>technician-days used</th></tr>{body}</table>")


def _spread(ax: Any, policies: list[str], reps: list[dict[str, Any]], key: str) -> None:
    """Each replication's value as a dot over its policy's bar."""
    for k, p in enumerate(policies):
        vals = [r[key] for r in reps if r["policy"] == p]
        ax.scatter([k] * len(vals), vals, color="black", s=10, zorder=3)


def write_report(summary: dict[str, Any], path: Path) -> Path:
    """Write `path` as PNG (by suffix) or HTML with the figure embedded."""
    import matplotlib.pyplot as plt

    fig = figure(summary)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".png":
        fig.savefig(path, dpi=110)
        plt.close(fig)
        return path
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    img = base64.b64encode(buf.getvalue()).decode()
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in summary.get("notes", []))
    path.write_text(
        "<!doctype html><html><head><meta charset='utf-8'><title>Fleetcare backtest</title>"
        "<style>body{font-family:sans-serif;margin:1em}img{max-width:100%}</style></head>"
        f"<body><img alt='backtest summary' src='data:image/png;base64,{img}'>"
        f"{ablation_table(summary)}<ul>{notes}</ul></body></html>", encoding="utf-8")
    return path

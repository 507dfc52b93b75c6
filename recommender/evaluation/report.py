"""Presenting evaluation results: a text table, the JSON file and a PNG bar chart."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from recommender.evaluation.metrics import SLICES


def _cell(value: float | None, width: int) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return f"{'n/a':>{width}}"
    return f"{value:>{width}.4f}"


def format_table(report: dict[str, Any]) -> str:
    """One block per slice: users, Recall@K, NDCG@K per method, coverage@10."""
    ks = report["ks"]
    results: dict[str, dict[str, dict[str, float]]] = report["results"]
    metrics = [f"recall@{k}" for k in ks] + [f"ndcg@{k}" for k in ks] + ["coverage@10"]
    width = max(len(m) for m in metrics) + 2
    name_width = max([len(m) for m in results] + [16]) + 2
    lines = [
        f"{report['dataset']}: {report['evaluated_users']} evaluated users, seed {report['seed']}, "
        f"split {report['split']}"
    ]
    for note in report.get("notes", []):
        lines.append(f"note: {note}")
    for name in SLICES:
        rows = [(m, per_slice[name]) for m, per_slice in results.items() if name in per_slice]
        if not rows:
            continue
        users = int(rows[0][1]["users"])
        lines.append("")
        lines.append(f"[{name}] users={users}")
        lines.append(f"{'method':<{name_width}}" + "".join(f"{m:>{width}}" for m in metrics))
        for method, row in rows:
            lines.append(f"{method:<{name_width}}" + "".join(_cell(row.get(m), width) for m in metrics))
        lines.extend(_versus_line(report, name))
    if report.get("tuned"):
        lines.append("")
        lines.append(f"tuned blend (validation split of training): {report['tuned']['config']}")
        if "als" in report["tuned"]:
            lines.append(
                f"tuned ALS for the hybrid: {report['tuned']['als']}; for ALS alone: {report['tuned']['als_alone']}"
            )
    lines.append(f"wall time: {report['wall_seconds']} s")
    return "\n".join(lines)


def verdict(low: float, high: float) -> str:
    """A 95% interval of a difference: above 0 wins, below 0 loses, across 0 a tie."""
    return "wins" if low > 0 else "loses" if high < 0 else "tie"


def _versus_line(report: dict[str, Any], name: str) -> list[str]:
    """The hybrid against the strongest baseline of each metric on this slice, with the interval."""
    versus = report.get("versus") or {}
    per_baseline = versus.get("slices", {}).get(name)
    if not per_baseline:
        return []
    parts = []
    for metric, label in (("recall@10", "R@10"), ("ndcg@10", "N@10")):
        cells = [(baseline, c[metric]) for baseline, c in per_baseline.items() if metric in c]
        if not cells:
            continue
        baseline, (diff, low, high) = min(cells, key=lambda cell: cell[1][0])
        parts.append(f"{label} vs {baseline} {diff:+.4f} [{low:+.4f}, {high:+.4f}] {verdict(low, high)}")
    return [f"{versus['method']} - strongest baseline (95% bootstrap): " + "; ".join(parts)] if parts else []


def write_json(report: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False, allow_nan=True) + "\n", encoding="utf-8")


def write_png(report: dict[str, Any], path: Path) -> None:
    """Grouped bars: Recall@10 and NDCG@10 per method for each slice (headless, Agg backend)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    results: dict[str, dict[str, dict[str, float]]] = report["results"]
    methods = list(results)
    slices = [s for s in SLICES if any(s in results[m] for m in methods)]
    fig, axes = plt.subplots(2, 1, figsize=(max(8.0, 1.6 * len(slices) + 2), 8), sharex=True)
    width = 0.8 / max(len(methods), 1)
    for ax, metric in zip(axes, ("recall@10", "ndcg@10"), strict=True):
        for m, method in enumerate(methods):
            values = [results[method].get(s, {}).get(metric, math.nan) for s in slices]
            xs = [i + (m - (len(methods) - 1) / 2) * width for i in range(len(slices))]
            ax.bar(xs, [0.0 if math.isnan(v) else v for v in values], width, label=method)
        ax.set_ylabel(metric)
        ax.grid(axis="y", alpha=0.3)
    labels = [f"{s}\n(n={int(next(iter(results.values())).get(s, {}).get('users', 0))})" for s in slices]
    axes[1].set_xticks(range(len(slices)), labels)
    axes[0].legend(ncol=min(len(methods), 4), fontsize="small")
    axes[0].set_title(f"{report['dataset']}: {report['evaluated_users']} users, seed {report['seed']}")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)

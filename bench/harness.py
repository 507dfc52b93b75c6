"""Interleaved A/B timing: every figure is a ratio against a baseline measured in the same run.

No Django here: a comparison is two zero-argument callables. The machine is shared, so absolute
times drift; running baseline and measured side alternately (A, B, A, B, …) exposes both to the
same drift, and the ratio of their medians is what gets compared with a target. The first
``warmup`` pairs are run and thrown away (imports, caches, JIT-like first-call costs).
"""

from __future__ import annotations

import json
import math
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from threadpoolctl import threadpool_limits

# A side returns None (the harness times it with ``clock``) or its own figure (a latency, a rate).
Side = Callable[[], float | None]
Goal = Literal["lower", "higher"]  # lower: times, latencies, memory; higher: throughputs


@dataclass
class Comparison:
    """One measured-vs-baseline figure and its target."""

    name: str
    unit: str
    measured: list[float]
    baseline: list[float]
    target: float | None = None  # on the ratio measured/baseline
    goal: Goal = "lower"  # "lower": ratio ≤ target passes; "higher": ratio ≥ target passes
    order: list[str] = field(default_factory=list)  # the sides in the order they ran (warm-up excluded)

    @property
    def ratios(self) -> list[float]:
        return [m / b if b else math.inf for m, b in zip(self.measured, self.baseline, strict=True)]

    @property
    def ratio(self) -> float:
        """Ratio of the medians (not the median of per-pair ratios)."""
        base = statistics.median(self.baseline)
        return statistics.median(self.measured) / base if base else math.inf

    @property
    def passed(self) -> bool | None:
        if self.target is None:
            return None
        return self.ratio <= self.target if self.goal == "lower" else self.ratio >= self.target

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        ratios = self.ratios
        out.update(
            measured_median=statistics.median(self.measured),
            baseline_median=statistics.median(self.baseline),
            ratio=self.ratio,
            ratio_min=min(ratios),
            ratio_max=max(ratios),
            passed=self.passed,
        )
        return out


@dataclass
class SuiteResult:
    """What one suite reports: its comparisons, its quality checks and facts about the run."""

    suite: str
    scale: str
    comparisons: list[Comparison] = field(default_factory=list)
    quality: dict[str, float] = field(default_factory=dict)
    quality_targets: dict[str, tuple[Goal, float]] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)

    def check(self, name: str, value: float, goal: Goal, target: float) -> None:
        self.quality[name] = float(value)
        self.quality_targets[name] = (goal, target)

    def quality_passed(self, name: str) -> bool:
        goal, target = self.quality_targets[name]
        value = self.quality[name]
        return value <= target if goal == "lower" else value >= target

    def to_dict(self) -> dict[str, Any]:
        return {
            "suite": self.suite,
            "scale": self.scale,
            "comparisons": [c.to_dict() for c in self.comparisons],
            "quality": {
                name: {
                    "value": value,
                    "goal": self.quality_targets[name][0],
                    "target": self.quality_targets[name][1],
                    "passed": self.quality_passed(name),
                }
                for name, value in self.quality.items()
            },
            "info": self.info,
        }


@contextmanager
def pinned_threads(threads: int | None) -> Iterator[None]:
    """BLAS/OpenMP pools limited to ``threads`` for everything inside (both sides alike)."""
    if threads is None:
        yield
        return
    with threadpool_limits(limits=threads):
        yield


def interleave(
    name: str,
    baseline: Side,
    measured: Side,
    *,
    repetitions: int = 5,
    warmup: int = 1,
    unit: str = "s",
    target: float | None = None,
    goal: Goal = "lower",
    threads: int | None = 1,
    clock: Callable[[], float] = time.perf_counter,
    on_step: Callable[[], None] | None = None,
) -> Comparison:
    """Run baseline, measured, baseline, measured… ``warmup + repetitions`` times each.

    Warm-up pairs are discarded. Both sides run under the same thread limits.
    """
    (comparison,) = interleave_many(
        baseline,
        {name: (measured, target)},
        repetitions=repetitions,
        warmup=warmup,
        unit=unit,
        goal=goal,
        threads=threads,
        clock=clock,
        on_step=on_step,
    )
    return comparison


def interleave_many(
    baseline: Side,
    measured: dict[str, tuple[Side, float | None]],
    *,
    repetitions: int = 5,
    warmup: int = 1,
    unit: str = "s",
    goal: Goal = "lower",
    threads: int | None = 1,
    clock: Callable[[], float] = time.perf_counter,
    on_step: Callable[[], None] | None = None,
) -> list[Comparison]:
    """Several measured sides against one baseline: A, B, C, A, B, C…; one Comparison per side.

    Every comparison shares the baseline samples of its own rounds, which saves a baseline run
    per extra side when a side is expensive (a full ALS fit).
    """
    if repetitions < 1:
        raise ValueError("repetitions must be at least 1")
    comparisons = {n: Comparison(n, unit, [], [], target=t, goal=goal) for n, (_, t) in measured.items()}
    baselines: list[float] = []
    sides: list[tuple[str, Side]] = [("baseline", baseline), *((n, side) for n, (side, _) in measured.items())]
    with pinned_threads(threads):
        for rep in range(warmup + repetitions):
            for label, side in sides:
                started = clock()
                figure = side()
                value = clock() - started if figure is None else float(figure)
                if on_step is not None:
                    on_step()
                if rep < warmup:
                    continue
                for c in comparisons.values():
                    c.order.append("baseline" if label == "baseline" else ("measured" if label == c.name else "other"))
                if label == "baseline":
                    baselines.append(value)
                else:
                    comparisons[label].measured.append(value)
    for c in comparisons.values():
        c.baseline = list(baselines)
        c.order = [o for o in c.order if o != "other"]
    return list(comparisons.values())


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0..100) with linear interpolation; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100.0
    low = math.floor(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def write_json(path: Path, results: list[SuiteResult], machine: dict[str, Any]) -> None:
    payload = {"machine": machine, "suites": {r.suite: r.to_dict() for r in results}}
    path.write_text(json.dumps(payload, indent=2, default=float))


def machine_info() -> dict[str, Any]:
    """nproc, CPU model and RAM (from /proc, Linux) and the date, for the figures' context."""
    import os
    import platform
    from datetime import UTC, datetime

    info: dict[str, Any] = {"nproc": os.cpu_count(), "python": platform.python_version()}
    info["date"] = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                info["ram_gib"] = round(int(line.split()[1]) / 2**20, 1)
                break
    except OSError:
        pass
    return info


def format_table(result: SuiteResult) -> str:
    """A plain-text table: measured, baseline, ratio (median, min, max), target, PASS/MISS."""
    lines = [f"== {result.suite} ({result.scale})"]
    width = max([34, *(len(c.name) for c in result.comparisons), *(len(q) + 8 for q in result.quality)])
    header = (
        f"{'figure':<{width}} {'measured':>11} {'baseline':>11} {'ratio':>7} {'min':>7} {'max':>7}  target   verdict"
    )
    lines.append(header)
    for c in result.comparisons:
        d = c.to_dict()
        target = "" if c.target is None else ("<=" if c.goal == "lower" else ">=") + f"{c.target:g}x"
        verdict = {True: "PASS", False: "MISS", None: "-"}[c.passed]
        scale, unit = (2**20, "Mi") if c.unit == "B" else (1, c.unit[:2])  # bytes print as MiB
        lines.append(
            f"{c.name:<{width}} {d['measured_median'] / scale:>9.4g}{unit:>2} "
            f"{d['baseline_median'] / scale:>9.4g}{unit:>2} "
            f"{d['ratio']:>7.3f} {d['ratio_min']:>7.3f} {d['ratio_max']:>7.3f}  {target:<8} {verdict}"
        )
    for name, value in result.quality.items():
        goal, bound = result.quality_targets[name]
        verdict = "PASS" if result.quality_passed(name) else "MISS"
        lines.append(
            f"{'quality ' + name:<{width}} {value:>11.4g}  {'>=' if goal == 'higher' else '<='}{bound:g}  {verdict}"
        )
    for key, value in result.info.items():
        lines.append(f"  {key}: {value}")
    return "\n".join(lines)

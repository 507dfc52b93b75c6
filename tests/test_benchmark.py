"""The benchmark command and its harness.

Speed targets are printed, never asserted here: the machines are shared. What is asserted: every
suite runs end to end at smoke scale and reports finite ratios and its quality figures, and the
harness interleaves, discards warm-up and computes ratios of medians correctly.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from django.core.management import call_command

from bench.harness import Comparison, interleave, interleave_many, percentile

SUITES = {
    "als": {"recall@10 project/raw"},
    "feed_http": {"errors at 32 clients", "feeds with limit items", "cached feed = computed feed"},
    "embeddings": {"mean cosine stored/raw"},
    "vectors": {"recall@10 at the timed ef_search", "recall@10 of the exact SQL scan"},
    "memory": set(),
}


class FakeClock:
    """Time advances only when a side says so: each side 'takes' a known number of seconds."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_sides_alternate_baseline_first_and_warmup_is_dropped() -> None:
    clock = FakeClock()
    calls: list[str] = []
    base_times = iter([100.0, 1.0, 2.0, 3.0, 4.0, 5.0])  # the first (warm-up) is an outlier
    meas_times = iter([100.0, 2.0, 4.0, 6.0, 8.0, 10.0])

    def baseline() -> None:
        calls.append("A")
        clock.now += next(base_times)

    def measured() -> None:
        calls.append("B")
        clock.now += next(meas_times)

    result = interleave("x", baseline, measured, repetitions=5, warmup=1, clock=clock, target=2.0)

    assert calls == ["A", "B"] * 6
    assert result.order == ["baseline", "measured"] * 5
    assert result.baseline == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert result.measured == [2.0, 4.0, 6.0, 8.0, 10.0]
    assert result.ratio == pytest.approx(2.0)  # median 6 / median 3
    assert result.passed is True


def test_several_sides_share_one_baseline_run_per_round() -> None:
    clock = FakeClock()
    calls: list[str] = []

    def side(label: str, seconds: float):
        def run() -> None:
            calls.append(label)
            clock.now += seconds

        return run

    retrain, fit = interleave_many(
        side("A", 1.0), {"retrain": (side("B", 1.5), 1.5), "fit": (side("C", 1.0), 1.05)}, repetitions=5, clock=clock
    )

    assert calls == ["A", "B", "C"] * 6
    assert retrain.baseline == fit.baseline == [1.0] * 5
    assert retrain.ratio == pytest.approx(1.5) and retrain.passed is True
    assert fit.ratio == pytest.approx(1.0) and fit.passed is True
    assert fit.order == ["baseline", "measured"] * 5


def test_ratio_is_ratio_of_medians_with_min_and_max_of_pairs() -> None:
    c = Comparison("x", "s", measured=[3.0, 10.0, 4.0], baseline=[1.0, 2.0, 4.0], target=1.5)
    d = c.to_dict()
    assert d["ratio"] == pytest.approx(4.0 / 2.0)
    assert d["ratio_min"] == pytest.approx(1.0)
    assert d["ratio_max"] == pytest.approx(5.0)
    assert d["passed"] is False


def test_higher_is_better_goal_passes_above_target() -> None:
    c = Comparison("qps", "/s", measured=[50.0, 60.0], baseline=[2.0, 2.0], target=20.0, goal="higher")
    assert c.passed is True


def test_a_side_may_report_its_own_figure() -> None:
    result = interleave("p50", lambda: 2.0, lambda: 5.0, repetitions=5, threads=1)
    assert result.ratio == pytest.approx(2.5)


def test_percentile_interpolates() -> None:
    assert percentile([1.0, 2.0, 3.0, 4.0, 5.0], 50) == 3.0
    assert percentile([0.0, 10.0], 99) == pytest.approx(9.9)
    assert math.isnan(percentile([], 50))


@pytest.mark.django_db(transaction=True)
def test_every_suite_runs_at_smoke_scale_and_reports_finite_ratios(tmp_path: Path, settings) -> None:
    settings.MODEL_ARTIFACTS_DIR = tmp_path / "models"
    out = tmp_path / "bench.json"

    call_command("benchmark", *SUITES, "--scale", "smoke", "--json", str(out), verbosity=0)

    report = json.loads(out.read_text())
    assert set(report["suites"]) == set(SUITES)
    assert report["machine"]["nproc"] >= 1
    for name, checks in SUITES.items():
        suite = report["suites"][name]
        assert suite["comparisons"], name
        for comparison in suite["comparisons"]:
            for key in ("ratio", "ratio_min", "ratio_max"):
                assert math.isfinite(comparison[key]), (name, comparison["name"], key)
            assert len(comparison["measured"]) >= 5
        assert checks <= set(suite["quality"]), name
        for check in suite["quality"].values():
            assert math.isfinite(check["value"])
    feed = report["suites"]["feed_http"]
    # Correctness, not speed: a cached feed is the feed the app computes, and repeats are served from the cache.
    assert feed["quality"]["cached feed = computed feed"]["passed"] is True
    assert feed["info"]["cache_hit_share"] > 0.5

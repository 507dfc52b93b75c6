"""Memory: peak RSS of a full retrain against the size of the interaction matrix it trains on.

Each repetition is a fresh subprocess (``python -m bench.memory_probe``), since peak RSS only
ever grows within a process. It imports what training and serving import and sets Django up
(its RSS then is the idle baseline), loads the live model as a web process does (the growth of
the current RSS against the bytes of the model's arrays), then runs ``train_model`` (not
published) and reports the peak RSS and the CSR bytes (data + indices + indptr) of the matrix.

Training's extra peak (peak − peak just before ``train_model``) over the CSR bytes: target ≤ 3x.
For scale, the same probe also measures a raw ``implicit`` fit alone on that matrix (loaded from
a file, nothing else in the process): what the library itself needs on top of its input, and so
how far below it no training built on ``implicit`` can go. Reported: raw fit / CSR, and the
project's training / raw fit.
Sizes, not times: repetitions are not interleaved with anything and there is no warm-up.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import scipy.sparse as sp
from django.conf import settings

from bench import als, data
from bench.harness import Comparison, SuiteResult
from recommender.models import ItemKind
from recommender.training import interaction_matrix

ROOT = Path(__file__).resolve().parent.parent
SCALES = {"smoke": {"repetitions": 5}, "full": {"repetitions": 5}}


def _probe(*args: str) -> dict[str, Any]:
    # One ALS iteration: the peak is reached in the first one (every later one reuses the buffers),
    # and 15 would cost a minute per probe at full scale.
    env = {**os.environ, "DATABASE_URL": data.database_url(), "OPENBLAS_NUM_THREADS": "1", "ALS_ITERATIONS": "1"}
    env["MODEL_ARTIFACTS_DIR"] = str(settings.MODEL_ARTIFACTS_DIR)
    out = subprocess.run(  # noqa: S603  (this interpreter, a fixed module, our own file path)
        [sys.executable, "-m", "bench.memory_probe", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )
    if out.returncode != 0:
        raise RuntimeError(f"memory probe failed:\n{out.stderr[-3000:]}")
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def run(scale: str, on_step: Callable[[], None] | None = None) -> SuiteResult:
    result = SuiteResult("memory", scale)
    als.ensure_live_model(scale)
    reps = SCALES[scale]["repetitions"]
    matrix, _, _ = interaction_matrix(ItemKind.PLACE)
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp:
        npz = str(Path(tmp) / "matrix.npz")
        sp.save_npz(npz, matrix, compressed=False)
        del matrix
        probes: list[dict[str, Any]] = []
        raws: list[dict[str, Any]] = []
        for _ in range(reps):  # sizes, not times: no warm-up to discard
            raws.append(_probe("raw", npz))
            probes.append(_probe())
            if on_step is not None:
                on_step()
    extra = [float(p["train_peak"] - p["before_train"]) for p in probes]
    csr = [float(p["csr_bytes"]) for p in probes]
    raw = [float(r["raw_peak"]) for r in raws]
    result.comparisons.append(Comparison("training peak RSS - idle vs CSR", "B", extra, csr, target=3.0))
    result.comparisons.append(Comparison("raw implicit fit peak RSS vs CSR", "B", raw, csr))
    result.comparisons.append(Comparison("training peak RSS - idle vs raw implicit fit", "B", extra, raw))
    result.comparisons.append(
        Comparison(
            "serving RSS growth vs model arrays",
            "B",
            [float(p["serve_growth"]) for p in probes],
            [float(p["model_bytes"]) for p in probes],
        )
    )
    mib = 2**20
    nnz = probes[-1]["nnz"]
    result.info.update(
        nnz=nnz,
        csr_mib=round(csr[-1] / mib, 1),
        idle_rss_mib=round(probes[-1]["idle"] / mib, 1),
        training_extra_mib_per_million_interactions=round(sorted(extra)[len(extra) // 2] / mib / (nnz / 1e6), 1),
        raw_fit_extra_mib=round(sorted(raw)[len(raw) // 2] / mib, 1),
        serving_model_mib=round(probes[-1]["serve_growth"] / mib, 2),
        als_iterations_in_probe=1,
    )
    return result

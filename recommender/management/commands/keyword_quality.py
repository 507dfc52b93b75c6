"""How well do extracted keywords agree with Naver's visitor keywords for the same café?

For a seeded sample of cafés that have Kakao reviews (``reviews.csv``) AND Naver visitor-keyword
counts (``naver_review.csv``), the embedded extractor (``workers.extractor``) runs over each café's
reviews; keywords are summed per café (weight, minus for negative polarity) and ranked. The truth
is the café's *salient* Naver keywords: those chosen by at least ``--min-share`` (10%) of its
``total_review`` visitors.

A predicted keyword matches a Naver keyword when its ``tag_en`` equals that keyword's tag (the tags
of ``recommender.importers.korean_cafes.NAVER_KEYWORD_TAGS``, which the extractor's vocabulary
shares; a few finer extractor tags count as the Naver tag they imply, :data:`TAG_IMPLIES`) or when
the cosine of the two phrases (multilingual-e5-small) is at least
``--match-threshold`` (0.93 by default: on this model, "커피" vs "커피가 맛있어요" scores ~0.95 and
unrelated café words ~0.85–0.90).

- precision@k: matching predictions among the top k / the number of predictions in the top k
  (a café with 3 keywords is judged on those 3);
- recall@k: salient Naver keywords matched by at least one of the top k / salient keywords.

Baselines, matched by the same rule:
- ``frequent nouns``: the café's most frequent Kiwi nouns (what an extractor without ranking,
  tagging or sentiment would give);
- ``global prior``: always the Naver keywords most often salient over all eligible cafés, in that
  order, whatever the reviews say (a strong baseline: a few keywords such as 커피가 맛있어요 are
  salient almost everywhere, so it shows how much of the figure is the base rate).

The CSVs are read directly; no database is needed.
"""

from __future__ import annotations

import csv
import json
import random
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

KS = (5, 10)
DEFAULT_MATCH_THRESHOLD = 0.93
DEFAULT_MIN_SHARE = 0.10
# Finer extractor tags that imply one of Naver's (a river view is a great view, …).
TAG_IMPLIES = {
    "dessert": "tasty desserts",
    "bakery": "tasty desserts",
    "specialty coffee": "great coffee",
    "river view": "great view",
    "tea": "tasty drinks",
}


@dataclass(frozen=True)
class Prediction:
    text: str
    tag_en: str


@dataclass
class Cafe:
    key: str
    reviews: list[str]
    salient: list[str]  # Naver phrases, most chosen first


def _default_data() -> Path:
    return Path(settings.BASE_DIR).parent / "shared" / "data" / "korean_cafes"


def load_cafes(data: Path, min_share: float, min_reviews: int) -> tuple[list[Cafe], list[str]]:
    """Cafés with reviews and salient Naver keywords, sorted by key; and Naver's keyword phrases."""
    reviews: dict[str, list[str]] = defaultdict(list)
    with (data / "reviews.csv").open(encoding="utf-8-sig", newline="") as f:  # a BOM is tolerated
        for row in csv.DictReader(f):
            text = (row.get("review") or "").strip()
            cafe = (row.get("cafe") or "").strip()
            if cafe and text:
                reviews[cafe].append(text)
    cafes: dict[str, Cafe] = {}
    phrases: list[str] = []
    with (data / "naver_review.csv").open(encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        names = list(reader.fieldnames or [])
        columns = [n for n in names[names.index("total_review") + 1 :] if n.startswith('"') and n.endswith('"')]
        phrases = [c.strip('"') for c in columns]
        for row in reader:
            key = f"{row['search_name'].strip()} {row['address'].strip()}"
            if key in cafes or len(reviews.get(key, ())) < min_reviews:
                continue  # first row wins, as in the importer
            try:
                total = int(float(row["total_review"] or 0))
                counts = {c.strip('"'): float(row[c] or 0) for c in columns}
            except ValueError:
                continue
            if total <= 0:
                continue
            salient = sorted(
                (p for p, n in counts.items() if n > 0 and n >= min_share * total), key=lambda p: -counts[p]
            )
            if salient:
                cafes[key] = Cafe(key, reviews[key], salient)
    return [cafes[k] for k in sorted(cafes)], phrases


def rank_keywords(per_review: Iterable[Iterable[Any]]) -> list[Prediction]:
    """Sum keyword weights over a café's reviews (negative mentions subtract); best first.

    Keywords with a tag are grouped by tag (their most weighted text represents them), others by text.
    """
    score: dict[str, float] = defaultdict(float)
    best_text: dict[str, tuple[float, str]] = {}
    tags: dict[str, str] = {}
    for keywords in per_review:
        for kw in keywords:
            key = kw.tag_en or kw.text
            weight = float(kw.weight)
            score[key] += -weight if kw.polarity == "negative" else weight
            tags[key] = kw.tag_en
            if weight > best_text.get(key, (-1.0, ""))[0]:
                best_text[key] = (weight, kw.text)
    ranked = sorted((k for k in score if score[k] > 0), key=lambda k: (-score[k], k))
    return [Prediction(best_text[k][1], tags[k]) for k in ranked]


class Matcher:
    """Does a prediction match a Naver phrase? Same tag, or cosine >= threshold."""

    def __init__(self, phrases: list[str], tags: dict[str, str], threshold: float, embed: Callable[..., np.ndarray]):
        self.phrases = phrases
        self.tags = tags
        self.threshold = threshold
        self.embed = embed
        self.index = {p: i for i, p in enumerate(phrases)}
        self.vectors = embed(phrases)

    def matches(self, predictions: list[Prediction]) -> list[set[str]]:
        """Per prediction: the Naver phrases it matches."""
        if not predictions:
            return []
        sims = self.embed([p.text for p in predictions]) @ self.vectors.T
        out: list[set[str]] = []
        for row, pred in zip(sims, predictions, strict=True):
            tags = {pred.tag_en, TAG_IMPLIES.get(pred.tag_en, "")} - {""}
            hit = {p for p in self.phrases if self.tags.get(p) in tags}
            hit |= {self.phrases[j] for j in np.flatnonzero(row >= self.threshold)}
            out.append(hit)
        return out


def score_at_k(matches: list[set[str]], salient: list[str], k: int) -> tuple[float, float]:
    """(precision@k, recall@k) of one café."""
    top = matches[:k]
    relevant = set(salient)
    precision = sum(1 for m in top if m & relevant) / len(top) if top else 0.0
    recalled = set().union(*top) & relevant if top else set()
    return precision, len(recalled) / len(relevant)


class Command(BaseCommand):
    help = "Compare embedded-extractor keywords with Naver's visitor keywords on a sample of Seoul cafés."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--data", type=Path, default=None, help="folder with reviews.csv and naver_review.csv")
        parser.add_argument("--cafes", type=int, default=200, help="cafés in the sample (default 200)")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument(
            "--min-share",
            type=float,
            default=DEFAULT_MIN_SHARE,
            help="a Naver keyword is salient when chosen by at least this share of total_review",
        )
        parser.add_argument("--min-reviews", type=int, default=1, help="skip cafés with fewer Kakao reviews")
        parser.add_argument("--match-threshold", type=float, default=DEFAULT_MATCH_THRESHOLD)
        parser.add_argument("--json", type=Path, default=None, help="also write the figures to this file")
        parser.add_argument("--no-progress", action="store_true")  # fmt: skip

    def handle(self, *args: Any, **options: Any) -> None:
        from recommender.importers.korean_cafes import NAVER_KEYWORD_TAGS
        from workers import extractor

        data: Path = options["data"] or _default_data()
        if not (data / "reviews.csv").is_file() or not (data / "naver_review.csv").is_file():
            raise CommandError(f"reviews.csv and naver_review.csv not found in {data}")
        if options["cafes"] < 1:
            raise CommandError("--cafes must be at least 1")
        started = time.monotonic()
        try:
            cafes, phrases = load_cafes(data, options["min_share"], options["min_reviews"])
        except UnicodeDecodeError as exc:
            raise CommandError(f"{data}: a file is not UTF-8 text ({exc.reason}); save it as UTF-8") from exc
        except (KeyError, ValueError) as exc:
            raise CommandError(f"{data}: not the korean_cafes layout (reviews.csv, naver_review.csv): {exc}") from exc
        if not cafes:
            raise CommandError("no café has both reviews and salient Naver keywords")
        rng = random.Random(options["seed"])  # noqa: S311 - a reproducible sample, not a secret
        sample = rng.sample(cafes, min(options["cafes"], len(cafes)))
        prior_counts = Counter(p for c in cafes for p in c.salient)
        prior = [Prediction(p, NAVER_KEYWORD_TAGS.get(p, "")) for p, _ in prior_counts.most_common()]

        extractor.warm_up()
        matcher = Matcher(phrases, NAVER_KEYWORD_TAGS, options["match_threshold"], extractor.embed)
        llm_client = _llm_client()
        systems: dict[str, list[tuple[list[set[str]], list[str]]]] = defaultdict(list)
        llm_failures = 0
        n_reviews = 0
        from tqdm import tqdm

        for cafe in tqdm(sample, desc="cafés", unit="café", file=sys.stderr, disable=options["no_progress"]):
            n_reviews += len(cafe.reviews)
            extracted = rank_keywords(extractor.extract(r, kind="review") for r in cafe.reviews)
            systems["embedded extractor"].append((matcher.matches(extracted), cafe.salient))
            nouns = _frequent_nouns(cafe.reviews, extractor)
            systems["baseline: frequent nouns"].append((matcher.matches(nouns), cafe.salient))
            systems["baseline: global prior"].append((matcher.matches(prior[: max(KS)]), cafe.salient))
            if llm_client is not None:
                per_review = []
                for review in cafe.reviews:
                    try:
                        per_review.append(list(llm_client.extract_keywords(review, kind="review").keywords))
                    except Exception:  # one failed call must not end the evaluation
                        llm_failures += 1
                systems["LLM"].append((matcher.matches(rank_keywords(per_review)), cafe.salient))
        elapsed = time.monotonic() - started

        figures: dict[str, Any] = {
            "cafes_evaluated": len(sample),
            "reviews": n_reviews,
            "seed": options["seed"],
            "min_share": options["min_share"],
            "match_threshold": options["match_threshold"],
            "extractor_version": extractor.EXTRACTOR_VERSION,
            "mean_salient_naver_keywords": round(float(np.mean([len(c.salient) for c in sample])), 3),
            "seconds": round(elapsed, 1),
            "llm": "configured" if llm_client is not None else "not configured",
            "llm_failures": llm_failures,
            "systems": {},
        }
        for name, rows in systems.items():
            entry: dict[str, float] = {}
            for k in KS:
                scores = [score_at_k(m, s, k) for m, s in rows]
                entry[f"precision@{k}"] = round(float(np.mean([p for p, _ in scores])), 4)
                entry[f"recall@{k}"] = round(float(np.mean([r for _, r in scores])), 4)
            figures["systems"][name] = entry
        self._print(figures)
        if options["json"]:
            options["json"].write_text(json.dumps(figures, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
            self.stdout.write(f"figures written to {options['json']}")

    def _print(self, figures: dict[str, Any]) -> None:
        w = self.stdout.write
        w(
            f"cafés evaluated: {figures['cafes_evaluated']} ({figures['reviews']} reviews, seed {figures['seed']}); "
            f"salient Naver keywords per café: {figures['mean_salient_naver_keywords']} "
            f"(≥ {figures['min_share']:.0%} of visitors); match: same tag or cosine ≥ {figures['match_threshold']}"
        )
        header = f"{'system':<28}" + "".join(f"{f'P@{k}':>8}{f'R@{k}':>8}" for k in KS)
        w(header)
        w("-" * len(header))
        for name, entry in figures["systems"].items():
            w(f"{name:<28}" + "".join(f"{entry[f'precision@{k}']:>8.3f}{entry[f'recall@{k}']:>8.3f}" for k in KS))
        if figures["llm"] == "not configured":
            w("LLM: not configured")
        elif figures["llm_failures"]:
            w(f"LLM: {figures['llm_failures']} review(s) failed and were skipped")
        w(f"time: {figures['seconds']} s")


def _frequent_nouns(reviews: list[str], extractor: Any) -> list[Prediction]:
    counts: Counter[str] = Counter()
    for review in reviews:
        if extractor.detect_language(review) != "ko":
            continue
        for tok in extractor._tokenize_ko(review[: extractor.MAX_CHARS]):
            if tok.tag in ("NNG", "NNP") and len(tok.form) >= 2 and tok.form not in extractor._KO_STOP_NOUNS:
                counts[tok.form] += 1
    return [Prediction(word, "") for word, _ in sorted(counts.items(), key=lambda x: (-x[1], x[0]))]


def _llm_client() -> Any:
    """The configured LLM client, or None (no workers.llm module, or no LLM_BASE_URL)."""
    if not getattr(settings, "LLM_BASE_URL", None):
        return None
    try:
        from workers import llm  # type: ignore[attr-defined,unused-ignore]
    except ImportError:
        return None
    get_client = getattr(llm, "get_client", None)
    return get_client() if callable(get_client) else None

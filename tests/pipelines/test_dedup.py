"""Tests of pipelines.dedup and crawler.text.minhash: invariant text, hashes, signatures, the LSH
index and `classify`."""

from __future__ import annotations

import json
import random
import statistics
from collections import Counter
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from scrapy.exceptions import DropItem

from crawler import signals as parknews_signals
from crawler.default_settings import PARKNEWS_DEDUP_THRESHOLD as DEFAULT_THRESHOLD
from crawler.extensions.crawlstate import CrawlState
from crawler.state.articles import Conflict
from crawler.state.store import StateStore
from crawler.text.minhash import (
    SIGNATURE_BYTES,
    SIGNATURE_SCHEME,
    _weight,
    check_signature,
    fingerprint,
    fingerprint_similarity,
    shingles,
    signature,
    similarity,
)
from pipelines.dedup import DedupPipeline
from pipelines.dedup.index import NearDuplicateIndex
from pipelines.dedup.text import comparison_text, content_hash, invariant_text
from pipelines.dedup.verdict import MIN_BODY_CHARS, PendingLookup, Verdict, classify
from pipelines.normalise.script import ScriptConverter
from tests.conftest import state_crawler, write_batch

PAIRS_FILE = Path(__file__).resolve().parents[1] / "fixtures" / "dedup" / "pairs.jsonl"

MIN_PRECISION = 0.95
MIN_RECALL = 0.95
"""Bars for the labelled pairs at DEFAULT_THRESHOLD. On these pairs the exact similarity of
duplicates is at least 0.69 and that of distinct articles at most 0.46, 2-3 standard errors of
the 128-bin estimate (0.04) from the threshold: an estimate may land on the wrong side for one
pair in fifty, so one miss each way is allowed; more means the method or the threshold is off."""


@cache
def converter() -> ScriptConverter:
    return ScriptConverter()


@cache
def labelled_pairs() -> tuple[dict[str, Any], ...]:
    return tuple(json.loads(line) for line in PAIRS_FILE.read_text("utf-8").splitlines())


def exact_similarity(a: str, b: str) -> float:
    """The weighted Jaccard similarity that `signature` estimates, computed exactly."""
    first = {s: _weight(s) for s in shingles(a)}
    second = {s: _weight(s) for s in shingles(b)}
    keys = first.keys() | second.keys()
    shared = sum(min(first.get(k, 0), second.get(k, 0)) for k in keys)
    return shared / sum(max(first.get(k, 0), second.get(k, 0)) for k in keys)


def texts(pair: dict[str, Any]) -> tuple[str, str]:
    return comparison_text(pair["a"], converter()), comparison_text(pair["b"], converter())


# --- invariant text ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ""),
        (
            "高新區(qū)(濱江)召開(kāi)會(huì)議，區(qū)委書(shū)記出席",
            "高新区滨江召开会议区委书记出席",
        ),
        ("高新区（滨江）召开会议，区委书记出席", "高新区滨江召开会议区委书记出席"),
        (
            "全要素?cái)?shù)字法治，數(shù)字化改革，區(qū)委，會(huì)議",
            "全要素字法治数字化改革区委会议",
        ),
        ("同比增长１２．５％，总额1,234.5亿元", "同比增长125总额12345亿元"),
        ("园区\u3000召开 \u00a0大会\n\t第二段", "园区召开大会第二段"),
        ("“未来工厂”、《若干措施》——AI+5G-A", "未来工厂若干措施ai5ga"),
        ("單(shàn)縣的“單”讀作shàn", "单shàn县的单读作shàn"),  # one reading is not a mirror
        ("舊\uf91d杆", "旧栏杆"),  # NFKC maps compatibility ideographs
    ],
)
def test_invariant_text(text: str, expected: str) -> None:
    assert invariant_text(text, converter()) == expected


def test_comparison_text_joins_title_and_body() -> None:
    record = {"title": "園區動態", "body": "第一段。\n第二段。"}
    assert comparison_text(record, converter()) == "园区动态第一段第二段"
    assert comparison_text({"title": None, "body": None}, converter()) == ""


def test_content_hash_is_script_and_punctuation_invariant() -> None:
    simplified = "高新区（滨江）召开数字化改革推进会，部署2023年重点任务。"
    traditional = (
        "高新區(qū)(濱江)召開(kāi)數(shù)字化改革推進(jìn)會(huì),部署2023年重點(diǎn)任務(wù)."
    )
    assert content_hash(simplified, converter()) == content_hash(traditional, converter())
    assert len(content_hash(simplified, converter())) == 64
    assert content_hash(simplified, converter()) != content_hash("部署2024年重点任务", converter())


def test_mirror_bodies_hash_like_their_originals() -> None:
    mirrors = [p for p in labelled_pairs() if p["id"] in {f"mirror-{n}" for n in (8857, 9931)}]
    assert len(mirrors) == 2
    for pair in mirrors:
        assert content_hash(pair["a"]["body"], converter()) == content_hash(
            pair["b"]["body"], converter()
        )


# --- signatures ----------------------------------------------------------------------------------


def test_signature_format_and_determinism() -> None:
    text = invariant_text(
        "园区举办2024年秋季高校毕业生专场招聘会，260余家企业提供岗位5800余个。", converter()
    )
    sig = signature(text)
    assert sig is not None and len(sig) == SIGNATURE_BYTES and sig[0] == SIGNATURE_SCHEME
    assert signature(text) == sig
    assert similarity(sig, sig) == 1.0
    assert signature("") is None
    short = signature("园区")
    assert short is not None and similarity(short, short) == 1.0


def test_check_signature_refuses_other_schemes() -> None:
    sig = signature("园区召开2024年高质量发展大会")
    assert sig is not None
    with pytest.raises(ValueError, match="scheme"):
        check_signature(bytes([SIGNATURE_SCHEME + 1]) + sig[1:])
    with pytest.raises(ValueError, match="bytes"):
        check_signature(sig[:-2])


def test_fingerprint() -> None:
    first = signature(
        invariant_text("园区召开2024年高质量发展大会，动员全区上下锚定目标。", converter())
    )
    second = signature(
        invariant_text("光谷跨境电商产业园首批28家企业入驻，涉及光电产品。", converter())
    )
    assert first is not None and second is not None
    value = fingerprint(first)
    assert len(value) == 16 and int(value, 16) >= 0
    assert fingerprint_similarity(value, value) == 1.0
    assert fingerprint_similarity(value, fingerprint(second)) < 0.5


def test_estimate_follows_exact_similarity() -> None:
    errors = []
    for pair in labelled_pairs():
        a, b = texts(pair)
        sig_a, sig_b = signature(a), signature(b)
        assert sig_a is not None and sig_b is not None
        errors.append(similarity(sig_a, sig_b) - exact_similarity(a, b))
    assert abs(statistics.mean(errors)) < 0.02
    assert max(map(abs, errors)) < 0.12


# --- labelled pairs ------------------------------------------------------------------------------


def test_labelled_pairs_cover_the_hard_cases() -> None:
    pairs = labelled_pairs()
    assert len(pairs) >= 40
    assert len({p["id"] for p in pairs}) == len(pairs)
    kinds = Counter((p["kind"], p["duplicate"]) for p in pairs)
    for kind in ("mirror", "repost", "edited"):
        assert kinds[(kind, True)] >= 5, kind
    for kind in ("meeting_template", "monthly_template", "same_person", "notice_template"):
        assert kinds[(kind, False)] >= 3, kind


def test_precision_and_recall_on_labelled_pairs(capsys: pytest.CaptureFixture[str]) -> None:
    found: Counter[tuple[bool, bool]] = Counter()
    misses = []
    for pair in labelled_pairs():
        a, b = texts(pair)
        sig_a, sig_b = signature(a), signature(b)
        assert sig_a is not None and sig_b is not None
        predicted = similarity(sig_a, sig_b) >= DEFAULT_THRESHOLD
        found[(predicted, pair["duplicate"])] += 1
        if predicted != pair["duplicate"]:
            misses.append(pair["id"])
    precision = found[(True, True)] / max(1, found[(True, True)] + found[(True, False)])
    recall = found[(True, True)] / (found[(True, True)] + found[(False, True)])
    with capsys.disabled():
        print(
            f"\nnear duplicates at threshold {DEFAULT_THRESHOLD} on {len(labelled_pairs())} "
            f"labelled pairs: precision {precision:.3f}, recall {recall:.3f}"
            + (f" (wrong: {', '.join(misses)})" if misses else "")
        )
    assert precision >= MIN_PRECISION, misses
    assert recall >= MIN_RECALL, misses


def test_digit_weight_separates_templates_from_edits() -> None:
    """The exact similarity, without estimation noise, leaves a margin on both sides."""
    duplicates: list[float] = []
    distinct: list[float] = []
    for pair in labelled_pairs():
        score = exact_similarity(*texts(pair))
        (duplicates if pair["duplicate"] else distinct).append(score)
    assert min(duplicates) > DEFAULT_THRESHOLD + 0.05
    assert max(distinct) < DEFAULT_THRESHOLD - 0.1


def test_index_finds_every_labelled_duplicate() -> None:
    """LSH banding loses none of the pairs that the estimate accepts."""
    index = NearDuplicateIndex()
    for pair in labelled_pairs():
        index.add(f"{pair['id']}/a", texts(pair)[0])
    for pair in labelled_pairs():
        _, b = texts(pair)
        hits = dict(index.query(b))
        if pair["duplicate"]:
            assert f"{pair['id']}/a" in hits, pair["id"]
        else:
            assert f"{pair['id']}/a" not in hits, pair["id"]


# --- index ---------------------------------------------------------------------------------------

DOCS = {
    "trade": "记者从园区海关获悉今年一季度园区实现进出口总额13826亿元同比增长63",
    "schools": "新学期园区5所新建学校正式启用新增学位7200个进一步缓解部分片区入学压力",
    "marathon": "11月17日上午2024苏州工业园区金鸡湖半程马拉松在金鸡湖畔鸣枪开跑",
}


def test_index_add_query_remove() -> None:
    index = NearDuplicateIndex()
    for doc_id, text in DOCS.items():
        assert index.add(doc_id, text)
    assert not index.add("empty", "")
    assert len(index) == 3 and "trade" in index and "empty" not in index
    assert list(index) == ["trade", "schools", "marathon"]
    assert index.query(DOCS["schools"]) == [("schools", 1.0)]
    edited = DOCS["schools"].replace("进一步缓解", "缓解了")
    hits = index.query(edited, threshold=0.5)
    assert [doc for doc, _ in hits] == ["schools"] and 0.5 <= hits[0][1] < 1.0
    assert index.query("完全无关的一段文字内容用于测试查询") == []
    assert index.remove("schools") and not index.remove("schools")
    assert index.query(DOCS["schools"]) == []
    assert index.signature_of("schools") is None
    assert index.signature_of("trade") == signature(DOCS["trade"])


def test_index_replaces_a_documents_signature() -> None:
    index = NearDuplicateIndex()
    index.add("doc", DOCS["trade"])
    index.add("doc", DOCS["marathon"])
    assert len(index) == 1
    assert index.query(DOCS["trade"]) == []
    assert index.query(DOCS["marathon"]) == [("doc", 1.0)]


def test_index_query_threshold_and_limit() -> None:
    index = NearDuplicateIndex(threshold=0.9)
    base = DOCS["trade"]
    index.add("same", base)
    index.add("close", base + "其中出口额同比增长89")
    assert [doc for doc, _ in index.query(base)] == ["same"]
    assert [doc for doc, _ in index.query(base, threshold=0.5)] == ["same", "close"]
    assert index.query(base, threshold=0.5, limit=1) == [("same", 1.0)]


@pytest.mark.parametrize("threshold", [0.0, -0.1, 1.5])
def test_index_refuses_bad_thresholds(threshold: float) -> None:
    with pytest.raises(ValueError, match="threshold"):
        NearDuplicateIndex(threshold)


def test_index_refuses_bad_ids() -> None:
    index = NearDuplicateIndex()
    for bad in ("", "two\nlines"):
        with pytest.raises(ValueError, match="doc_id"):
            index.add(bad, DOCS["trade"])


def generated(count: int) -> Iterator[tuple[str, str]]:
    """Distinct texts: fixture sentences with their numbers changed."""
    base = [invariant_text(p["a"]["body"], converter()) for p in labelled_pairs()]
    for n in range(count):
        yield f"doc{n}", f"{base[n % len(base)][:80]}第{n}号{n * 7919 % 100003}"


def test_index_grows_and_keeps_everything() -> None:
    index = NearDuplicateIndex()
    docs = dict(generated(3000))
    for doc_id, text in docs.items():
        index.add(doc_id, text)
    assert len(index) == 3000
    for doc_id in ("doc0", "doc1234", "doc2999"):
        assert index.query(docs[doc_id])[0] == (doc_id, 1.0)


def test_index_reclaims_removed_entries_when_it_rehashes() -> None:
    index = NearDuplicateIndex()
    docs = dict(generated(2000))
    for _ in range(4):
        for doc_id, text in docs.items():
            index.add(doc_id, text)  # replaces the previous round's entry
        assert len(index) == 2000
    # 2000 live documents fit a table sized for 4000: stale entries did not make it grow.
    assert len(index._table) <= len(NearDuplicateIndex(capacity=4000)._table)
    assert index.query(docs["doc1999"])[0] == ("doc1999", 1.0)


def test_index_reclaims_removed_documents() -> None:
    index = NearDuplicateIndex()
    docs = dict(generated(3000))
    ids = list(docs)
    for n, doc_id in enumerate(ids):
        index.add(doc_id, docs[doc_id])
        if n >= 40:
            assert index.remove(ids[n - 40])  # documents come and go, 40 at a time
    assert list(index) == ids[-40:]
    assert len(index._ids) < 128 and len(index._sigs) == len(index._ids) * SIGNATURE_BYTES
    assert len(index._table) <= len(NearDuplicateIndex(capacity=128)._table)
    for doc_id in (ids[-40], ids[-1]):
        assert index.query(docs[doc_id])[0] == (doc_id, 1.0)
        assert index.signature_of(doc_id) == signature(docs[doc_id])
    assert all(hit != ids[-41] for hit, _ in index.query(docs[ids[-41]], threshold=1.0))


def test_index_round_trip() -> None:
    index = NearDuplicateIndex(threshold=0.55)
    docs = dict(generated(200))
    for doc_id, text in docs.items():
        index.add(doc_id, text)
    index.remove("doc7")
    restored = NearDuplicateIndex.from_bytes(index.to_bytes())
    assert restored.threshold == 0.55 and len(restored) == 199
    for text in list(docs.values())[:20]:
        assert restored.query(text) == index.query(text)
    assert NearDuplicateIndex.from_bytes(index.to_bytes(), threshold=0.8).threshold == 0.8
    assert len(NearDuplicateIndex.from_bytes(NearDuplicateIndex().to_bytes())) == 0


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda data: b"NOTINDEX" + data[8:], "magic"),
        (lambda data: data[:-5], "truncated"),
        (lambda data: data[:10], "too short"),
        (lambda data: data[:8] + b"\x09\x00" + data[10:], "rebuild"),
    ],
)
def test_index_from_bytes_refuses_damage(damage: Any, message: str) -> None:
    index = NearDuplicateIndex()
    index.add("doc", DOCS["trade"])
    with pytest.raises(ValueError, match=message):
        NearDuplicateIndex.from_bytes(damage(index.to_bytes()))


def test_index_from_signatures_skips_other_schemes() -> None:
    sig = signature(DOCS["trade"])
    assert sig is not None
    old = bytes([SIGNATURE_SCHEME + 1]) + sig[1:]
    index = NearDuplicateIndex.from_signatures([("new", sig), ("old", old)])
    assert len(index) == 1 and "new" in index


# --- classify ------------------------------------------------------------------------------------

ORIGINAL = {
    "id": "a0000000000000000001",
    "url": "http://www.hhtz.gov.cn/art/2024/10/18/art_1487001_58951653.html",
    "canonical_url": "http://www.hhtz.gov.cn/art/2024/10/18/art_1487001_58951653.html",
    "site": "binjiang",
    "fetched_at": "2026-11-25T12:00:00Z",
}


def record_of(side: dict[str, Any], record_id: str, **extra: Any) -> dict[str, Any]:
    return {
        **ORIGINAL,
        "id": record_id,
        "url": side["url"],
        "canonical_url": side["url"],
        "title": side["title"],
        "body": side["body"],
        **extra,
    }


def pair(pair_id: str) -> dict[str, Any]:
    return next(p for p in labelled_pairs() if p["id"] == pair_id)


class Run:
    """One crawl run's view: the store, the index and the pending records, wired as a
    pipeline would wire them."""

    def __init__(self, store: StateStore, index: NearDuplicateIndex) -> None:
        self.store = store
        self.index = index
        self.pending = PendingLookup(store)

    def see(self, record: dict[str, Any]) -> Verdict:
        verdict = classify(record, self.index, self.pending, converter=converter())
        self.pending.remember(verdict, record)
        if verdict.emit and verdict.signature is not None:
            self.index.add_signature(verdict.id, verdict.signature)
        return verdict

    def commit(self, *pairs: tuple[Verdict, dict[str, Any]]) -> None:
        self.store.commit_written([verdict.written(record) for verdict, record in pairs])
        self.pending.forget(verdict.key for verdict, _ in pairs)


@pytest.fixture
def run(tmp_path: Path) -> Iterator[Run]:
    with StateStore(tmp_path / "state.db") as store:
        yield Run(store, NearDuplicateIndex())


def test_new_unchanged_and_revision(run: Run) -> None:
    source = pair("edited-sipac-innovation")
    first = record_of(source["a"], "b0000000000000000001")
    verdict = run.see(first)
    assert (verdict.kind, verdict.revision, verdict.id) == ("new", 1, first["id"])
    assert verdict.emit and not verdict.is_duplicate
    run.commit((verdict, first))

    again = run.see(dict(first, fetched_at="2026-11-26T00:00:00Z"))
    assert (again.kind, again.revision) == ("unchanged", 1) and not again.emit

    changed = record_of(source["b"], first["id"], fetched_at="2026-11-27T00:00:00Z")
    revision = run.see(changed)
    assert (revision.kind, revision.revision, revision.id) == ("revision", 2, first["id"])
    annotated = revision.annotate(changed)
    assert annotated["revision"] == 2 and annotated["updated_at"] == "2026-11-27T00:00:00Z"
    assert annotated["content_hash"] == revision.content_hash
    assert annotated["fingerprint"] == revision.fingerprint
    assert "duplicate_of" not in annotated
    run.commit((revision, changed))
    stored = run.store.get(revision.key)
    assert stored is not None and stored.revision == 2
    assert run.index.query(comparison_text(changed, converter()))[0] == (first["id"], 1.0)


def test_same_article_under_another_column_is_not_new(run: Run) -> None:
    first = dict(ORIGINAL, title="标题", body="正文" * 40)
    run.commit((run.see(first), first))
    other = dict(
        first,
        id="c0000000000000000009",
        url=first["url"].replace("art_1487001_", "art_1487002_"),
        canonical_url=first["url"].replace("art_1487001_", "art_1487002_"),
    )
    verdict = run.see(other)
    assert (verdict.kind, verdict.id) == ("unchanged", first["id"])


@pytest.mark.parametrize(
    ("pair_id", "kind"),
    [
        ("mirror-9931", "exact_duplicate"),
        ("mirror-8812", "near_duplicate"),  # the mirror lost characters
        ("formatting-binjiang-matchmaking", "exact_duplicate"),
        ("repost-sipac-trade", "near_duplicate"),
        ("edited-sipac-one-thing", "near_duplicate"),
        ("monthly-sipac-trade", "new"),
        ("meeting-sipac-committee", "new"),
        ("notice-binjiang-programmes", "new"),
        ("person-sipac-craftsman", "new"),
    ],
)
def test_classify_labelled_pairs(run: Run, pair_id: str, kind: str) -> None:
    source = pair(pair_id)
    original = record_of(source["a"], "d0000000000000000001")
    run.commit((run.see(original), original))
    copy = record_of(source["b"], "d0000000000000000002")
    verdict = run.see(copy)
    assert verdict.kind == kind
    if verdict.is_duplicate:
        assert verdict.duplicate_of == original["id"] and not verdict.emit
        assert verdict.similarity is not None and verdict.similarity >= DEFAULT_THRESHOLD
        annotated = verdict.annotate(copy)
        assert annotated["duplicate_of"] == original["id"]
        assert annotated["similarity"] == round(verdict.similarity, 3)


def test_copies_met_in_one_run_before_any_commit(run: Run) -> None:
    source = pair("mirror-9768")
    original = record_of(source["a"], "e0000000000000000001")
    mirror = record_of(source["b"], "e0000000000000000002")
    assert run.see(original).kind == "new"
    assert run.see(original).kind == "unchanged"  # the same page reached twice
    duplicate = run.see(mirror)
    assert (duplicate.kind, duplicate.duplicate_of) == ("exact_duplicate", original["id"])


def test_duplicate_of_a_duplicate_points_at_the_original(run: Run) -> None:
    source = pair("mirror-9931")
    original = record_of(source["a"], "f0000000000000000001")
    mirror = record_of(source["b"], "f0000000000000000002")
    third = dict(mirror, id="f0000000000000000003", url="http://x.com/1.html")
    third["canonical_url"] = third["url"]
    first_verdict = run.see(original)
    mirror_verdict = run.see(mirror)
    run.commit((first_verdict, original), (mirror_verdict, mirror))
    verdict = run.see(third)
    assert (verdict.kind, verdict.duplicate_of) == ("exact_duplicate", original["id"])


def test_an_article_is_never_a_duplicate_of_itself(run: Run) -> None:
    """A run stopped after committing a copy but before writing its original leaves the
    copy in the state pointing at the original: the original, met again, is new."""
    source = pair("mirror-9931")
    original = record_of(source["a"], "g0000000000000000001")
    mirror = record_of(source["b"], "g0000000000000000002")
    first = Run(run.store, NearDuplicateIndex())
    copy_verdict = first.see(mirror)
    assert copy_verdict.kind == "new"  # the copy came first, so it reads as an article
    copied = Verdict(
        "exact_duplicate",
        copy_verdict.key,
        mirror["id"],
        copy_verdict.content_hash,
        copy_verdict.fingerprint,
        1,
        duplicate_of=original["id"],
        similarity=1.0,
    )
    run.store.commit_written([copied.written(mirror)])
    again = Run(run.store, NearDuplicateIndex()).see(original)
    assert again.kind == "new" and again.duplicate_of is None


def test_short_bodies_are_never_duplicates(run: Run) -> None:
    body = "详见附件。"
    assert len(invariant_text(body, converter())) < MIN_BODY_CHARS
    first = dict(ORIGINAL, title="关于公布2024年度第一批名单的通知", body=body)
    run.commit((run.see(first), first))
    second = dict(
        first,
        id="a0000000000000000002",
        url="http://www.hhtz.gov.cn/art/2024/11/1/art_1487002_58952001.html",
        canonical_url="http://www.hhtz.gov.cn/art/2024/11/1/art_1487002_58952001.html",
        title="关于公布2024年度第二批名单的通知",
    )
    assert run.see(second).kind == "new"


def test_written_entries_rebuild_the_index(run: Run) -> None:
    source = pair("repost-donghu-5ga")
    original = record_of(source["a"], "g0000000000000000001")
    repost = record_of(source["b"], "g0000000000000000002")
    verdicts = [(run.see(original), original), (run.see(repost), repost)]
    run.commit(*verdicts)
    rebuilt = NearDuplicateIndex.from_signatures(run.store.iter_signatures())
    assert len(rebuilt) == 1  # the duplicate is not searched for
    assert rebuilt.query(comparison_text(repost, converter()))[0][0] == original["id"]
    stored = run.store.get(verdicts[1][0].key)
    assert stored is not None and stored.duplicate_of == original["id"]


def test_classify_needs_a_url(run: Run) -> None:
    with pytest.raises(ValueError, match="canonical_url"):
        classify({"title": "x", "body": "y"}, run.index, run.store, converter=converter())


def test_committed_articles_are_found_in_the_store(run: Run) -> None:
    source = pair("repost-sipac-trade")
    original = record_of(source["a"], "h0000000000000000001")
    run.commit((run.see(original), original))
    later = Run(run.store, NearDuplicateIndex())  # the next run holds nothing in memory
    copy = record_of(source["b"], "h0000000000000000002")
    verdict = later.see(copy)
    assert (verdict.kind, verdict.duplicate_of) == ("near_duplicate", original["id"])
    assert len(later.index) == 0


def test_a_pending_revision_outranks_its_committed_text(run: Run) -> None:
    source = pair("repost-sipac-trade")
    original = record_of(source["a"], "i0000000000000000001")
    run.commit((run.see(original), original))
    later = Run(run.store, NearDuplicateIndex())
    rewritten = dict(original, body=DOCS["schools"] * 3, fetched_at="2026-11-26T00:00:00Z")
    assert later.see(rewritten).kind == "revision"
    # The store still has the old text; the index holds the article's latest.
    copy = record_of(source["b"], "i0000000000000000002")
    assert later.see(copy).kind == "new"


# --- pipeline ------------------------------------------------------------------------------------

CHARS = "园区企业发展项目创新产业服务建设经济科技人才政策市场投资管理合作会议工作推进平台数字"


def random_record(n: int) -> dict[str, Any]:
    """A record of its own random text: no near duplicate of any other."""
    rng = random.Random(n)
    url = f"http://www.sipac.gov.cn/szgyyq/yqyw/202411/t20241101_{n}.shtml"
    return {
        **ORIGINAL,
        "id": f"{n:020d}",
        "url": url,
        "canonical_url": url,
        "site": "sipac",
        "title": f"第{n}条",
        "body": "".join(rng.choice(CHARS) for _ in range(200)),
    }


class PipelineRun:
    """A DedupPipeline in a crawler with the crawl state extension, its batches committed
    the way the feed exporter's `feed_slot_closed` signal commits them."""

    def __init__(self, tmp_path: Path, **settings: Any) -> None:
        self.folder = tmp_path
        self.crawler = state_crawler(tmp_path, **settings)
        self.state = self.crawler.get_extension(CrawlState)
        self.pipeline = DedupPipeline.from_crawler(self.crawler)
        if self.state is not None:
            self.state.spider_opened()  # hands the store to the pipeline
        self.batches = 0

    def process(self, record: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = self.pipeline.process_item(dict(record))
        return out

    def commit(self, records: list[dict[str, Any]]) -> None:
        self.batches += 1
        assert write_batch(self.crawler, self.folder / f"batch{self.batches}.jsonl", records)

    def close(self) -> None:
        self.crawler.signals.send_catch_log(parknews_signals.run_judged, report={}, exit_status=0)


def test_pipeline_index_holds_only_uncommitted_records(tmp_path: Path) -> None:
    source = pair("repost-sipac-trade")
    original = record_of(source["a"], "j0000000000000000001")
    first = PipelineRun(tmp_path)
    try:
        written = [first.process(original)]
        assert len(first.pipeline.index) == 1
        first.commit(written)
        assert len(first.pipeline.index) == 0 and first.pipeline.indexed == {}
        for start in range(0, 400, 20):
            batch = [first.process(random_record(n)) for n in range(start, start + 20)]
            assert all("duplicate_of" not in record for record in batch)
            assert len(first.pipeline.index) == 20
            first.commit(batch)
            assert len(first.pipeline.index) == 0
        # 421 records went through the index; it kept the room of a few batches at most.
        index = first.pipeline.index
        assert len(index._ids) <= 64 and len(index._sigs) == len(index._ids) * SIGNATURE_BYTES
        assert len(index._table) <= len(NearDuplicateIndex(capacity=64)._table)
        copy = first.process(record_of(source["b"], "j0000000000000000002"))
        assert copy["duplicate_of"] == original["id"]
    finally:
        first.close()
    second = PipelineRun(tmp_path)
    try:
        assert len(second.pipeline.index) == 0
        copy = second.process(record_of(source["b"], "j0000000000000000003"))
        assert copy["duplicate_of"] == original["id"] and copy["similarity"] < 1.0
        with pytest.raises(DropItem, match="unchanged"):
            second.process(random_record(7))
    finally:
        second.close()


def test_pipeline_without_state_indexes_the_whole_run(tmp_path: Path) -> None:
    run = PipelineRun(tmp_path, PARKNEWS_STATE_ENABLED=False)
    assert run.state is None
    for n in range(30):
        run.process(random_record(n))
    assert len(run.pipeline.index) == 30
    source = pair("repost-sipac-trade")
    run.process(record_of(source["a"], "k0000000000000000001"))
    copy = run.process(record_of(source["b"], "k0000000000000000002"))
    assert copy["duplicate_of"] == "k0000000000000000001"


def test_short_bodies_claim_no_content_so_each_is_kept_as_an_article(run: Run) -> None:
    first = dict(ORIGINAL, title="关于公布2024年度第一批名单的通知", body="详见附件。")
    second = dict(
        first,
        id="a0000000000000000002",
        url="http://www.hhtz.gov.cn/art/2024/11/1/art_1487002_58952001.html",
        canonical_url="http://www.hhtz.gov.cn/art/2024/11/1/art_1487002_58952001.html",
    )
    verdicts = [(run.see(first), first), (Run(run.store, NearDuplicateIndex()).see(second), second)]
    assert [v.written(r)["claims_content"] for v, r in verdicts] == [False, False]
    run.commit(*verdicts)
    stored = [run.store.get(verdict.key) for verdict, _ in verdicts]
    assert all(state is not None and state.duplicate_of is None for state in stored)


def test_two_workers_meeting_one_text_under_two_urls_keep_the_first_as_the_original(
    run: Run,
) -> None:
    source = pair("repost-donghu-5ga")
    original = record_of(source["a"], "g0000000000000000001")
    repost = record_of(source["a"], "g0000000000000000002", url=source["b"]["url"])
    repost["canonical_url"] = repost["url"]
    other_worker = Run(run.store, NearDuplicateIndex())
    first, second = run.see(original), other_worker.see(repost)  # neither has committed yet
    assert first.kind == second.kind == "new" and first.claims_content and second.claims_content
    run.commit((first, original))
    result = run.store.commit_written([second.written(repost)])
    assert result.conflicts == (Conflict(second.key, repost["id"], original["id"]),)
    stored = run.store.get(second.key)
    assert stored is not None and stored.duplicate_of == original["id"]

"""Duplicate detection: script-invariant text, content hash, an LSH index and the verdicts.

Two records are exact duplicates when their bodies have the same `content_hash`, which is
taken over `invariant_text`: pinyin readings stripped, Traditional converted to Simplified,
NFKC, lower case, and everything but letters and digits removed, so that a Traditional
mirror of a Simplified article, or a copy with other punctuation and spacing, hashes alike.

They are near duplicates when the weighted Jaccard similarity of their `comparison_text`
(title and body) reaches the threshold. Texts are compared as sets of shingles in which a
shingle holding a digit counts several times (`crawler.text.minhash`): figures and dates are
what tell apart two monthly reports written on one template, or two meetings opened with the
same formula, while a repost or a copy with one paragraph edited keeps them. The similarity
is estimated from a MinHash `signature` (one-permutation hashing with densification, 128
16-bit minimums) and candidates are found by LSH banding: in the state store for the
articles committed, in a `NearDuplicateIndex` for those of this run not committed yet.

The modules: `text` (invariant text, content hash), `index` (the in-memory LSH index),
`verdict` (`classify` combines the two into a `Verdict` for one record), `restore` (spans
a mirror damaged, mended from the original).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from itemadapter import ItemAdapter
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem
from scrapy.signalmanager import SignalManager
from scrapy.statscollectors import StatsCollector

from crawler import signals as parknews_signals
from crawler.default_settings import parknews_settings
from crawler.sites import SiteProfile
from crawler.state.base import StateBackend
from crawler.state.errors import StateError
from crawler.state.sharedrun import SharedRun, shared_run
from crawler.text.minhash import check_threshold
from pipelines.dedup.index import NearDuplicateIndex
from pipelines.dedup.restore import restore_damaged_spans
from pipelines.dedup.verdict import NoState, PendingLookup, Verdict, VerdictKind, classify
from pipelines.normalise.script import ScriptConverter

logger = logging.getLogger(__name__)


class DedupPipeline:
    """Gives each record its identity fields and routes copies to the duplicates file.

    Every record gains `content_hash`, `fingerprint` and `revision` (and `updated_at` when it
    is a revision); a copy of another article gains `duplicate_of` and `similarity`, which the
    output sends to the duplicates feed; an article already written with the same content is
    dropped. Settings: ``PARKNEWS_DEDUP_THRESHOLD`` (estimated Jaccard similarity of the
    script-invariant texts). Stats: ``parknews/<site>/articles_<verdict kind>``.

    With a state store (signal `state_opened`), the articles of earlier runs and of this
    run's committed batches are searched in the store; `index` holds only the records
    emitted since the last commit that wrote them (signal `batch_committed`), so memory does
    not grow with the run or with the state, and each record on its way to a feed is
    announced with `record_to_commit`. Without one, `index` holds every record the run
    emitted.
    """

    def __init__(
        self,
        threshold: float,
        *,
        stats: StatsCollector | None = None,
        signals: SignalManager | None = None,
    ) -> None:
        check_threshold(threshold)
        self.stats = stats
        self.signals = signals
        self.store: StateBackend | None = None
        self.pending = PendingLookup(NoState())
        self.index = NearDuplicateIndex(threshold)
        self.indexed: dict[str, str] = {}
        """Id in `index` of each emitted record's article key, until its commit."""
        self.mirrored: set[str] = set()
        """Keys of the crawled sites that a crawled mirror copies."""
        self.originals: dict[str, str] = {}
        """Bodies of this run's articles from sites that a crawled mirror copies, by id."""
        self.converter = ScriptConverter()
        self.shared: SharedRun | None = None
        """The run this worker shares with others, whose claims it checks before writing."""

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> DedupPipeline:
        threshold = parknews_settings(crawler.settings).getfloat("PARKNEWS_DEDUP_THRESHOLD")
        pipeline = cls(threshold, stats=crawler.stats, signals=crawler.signals)
        pipeline.shared = shared_run(crawler.settings)
        crawler.signals.connect(pipeline.crawl_planned, signal=parknews_signals.crawl_planned)
        crawler.signals.connect(pipeline.state_opened, signal=parknews_signals.state_opened)
        crawler.signals.connect(pipeline.batch_committed, signal=parknews_signals.batch_committed)
        return pipeline

    def crawl_planned(self, profiles: Mapping[str, SiteProfile]) -> None:
        """Note which crawled sites a crawled mirror copies: their bodies mend its damage."""
        self.mirrored = {
            p.mirror_of
            for p in profiles.values()
            if p.mirror_of is not None and p.mirror_of in profiles
        }

    def state_opened(self, store: StateBackend) -> None:
        """Search the state store for what earlier runs wrote."""
        self.store = store
        self.pending = PendingLookup(store)

    def batch_committed(self, keys: Iterable[str]) -> None:
        """Forget what the run held for articles now in the state store: it answers for them."""
        keys = list(keys)
        self.pending.forget(keys)
        for key in keys:
            doc_id = self.indexed.pop(key, None)
            if doc_id is not None:
                self.index.remove(doc_id)

    def process_item(self, item: Any) -> Any:
        record = ItemAdapter(item).asdict()
        try:
            verdict = classify(record, self.index, self.pending, converter=self.converter)
            if verdict.kind == "new" and self.shared is not None:
                verdict = self.claimed(verdict, record, self.shared)
        except StateError as exc:
            # Without the state the record cannot be told new or a copy: it is not written,
            # and the next run, which fetches it again, decides.
            if self.signals is not None:
                self.signals.send_catch_log(parknews_signals.state_failed, message=str(exc))
            raise DropItem(f"not written, the crawl state failed: {record.get('url')}") from None
        self.pending.remember(verdict, record)
        if self.stats is not None:
            self.stats.inc_value(f"parknews/{record.get('site')}/articles_{verdict.kind}")
        if verdict.kind == "unchanged":
            raise DropItem(f"unchanged since it was last written: {record.get('url')}", "DEBUG")
        if verdict.emit and verdict.signature is not None:
            self.index.add_signature(verdict.id, verdict.signature)
            if self.store is not None:
                self.indexed[verdict.key] = verdict.id
        if verdict.emit and record.get("site") in self.mirrored:
            self.originals[verdict.id] = str(record.get("body") or "")
        if verdict.is_duplicate and record.get("damaged_annotations"):
            record = restore_damaged_spans(record, self.original_body(verdict.duplicate_of))
        annotated = verdict.annotate(record)
        if self.store is not None and self.signals is not None:
            self.signals.send_catch_log(
                parknews_signals.record_to_commit, row=verdict.written(record)
            )
        return annotated

    def claimed(self, verdict: Verdict, record: Mapping[str, Any], shared: SharedRun) -> Verdict:
        """A new article claimed in the run it shares with other workers before it is
        written: when another worker claimed the same article first, it is theirs
        ("unchanged" here, and dropped); when it claimed an article this one copies, this
        one is a duplicate of it, as it would be on one host."""
        mirrored = record.get("site") in self.mirrored
        claim = shared.claim(
            key=verdict.key,
            record_id=verdict.id,
            content_hash=verdict.content_hash,
            copyable=verdict.claims_content,
            signature=verdict.signature,
            threshold=self.index.threshold,
            body=str(record.get("body") or "") if mirrored else "",
        )
        if claim is None:
            return verdict
        if claim.kind == "article":
            return replace(verdict, kind="unchanged", id=claim.id, claims_content=False)
        kind: VerdictKind = "exact_duplicate" if claim.kind == "exact" else "near_duplicate"
        return replace(
            verdict,
            kind=kind,
            duplicate_of=claim.id,
            similarity=claim.similarity,
            claims_content=False,
        )

    def original_body(self, record_id: str | None) -> str | None:
        """The body of an article of this run from a site a crawled mirror copies: kept
        here, or with its claim when another worker wrote it."""
        if record_id is None:
            return None
        body = self.originals.get(record_id)
        if body is None and self.shared is not None:
            try:
                body = self.shared.claimed_body(record_id)
            except StateError as exc:
                logger.error("%s", exc)
        return body

"""Duplicate detection: script-invariant text, content hash, an LSH index and the verdicts.

Two records are exact duplicates when their bodies have the same `content_hash`, which is
taken over `invariant_text`: pinyin readings stripped, Traditional converted to Simplified,
NFKC, lower case, and everything but letters and digits removed, so that a Traditional
mirror of a Simplified article, or a copy with other punctuation and spacing, hashes alike.

They are near duplicates when the weighted Jaccard similarity of their `comparison_text`
(title and body) reaches the threshold. Texts are compared as sets of shingles in which a
shingle holding a digit counts several times (`pipelines.minhash`): figures and dates are
what tell apart two monthly reports written on one template, or two meetings opened with the
same formula, while a repost or a copy with one paragraph edited keeps them. The similarity
is estimated from a MinHash `signature` (one-permutation hashing with densification, 128
16-bit minimums) and candidates are found by LSH banding: in the state store for the
articles committed, in a `NearDuplicateIndex` for those of this run not committed yet.

`classify` combines the two into a `Verdict` for one record.
"""

from __future__ import annotations

import hashlib
import re
import struct
import unicodedata
from array import array
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from itemadapter import ItemAdapter
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem

from crawler.state import ArticleState, article_key
from pipelines.minhash import (
    BAND_ROWS,
    BANDS,
    SIGNATURE_BYTES,
    SIGNATURE_SCHEME,
    SIGNATURE_SIZE,
    band_keys,
    best_first,
    check_signature,
    check_threshold,
    fingerprint,
    is_current,
    rank,
    signature,
)
from pipelines.normalise import ScriptConverter, strip_pinyin_annotations

DEFAULT_THRESHOLD = 0.6
"""Estimated similarity from which a record is a near duplicate (PARKNEWS_DEDUP_THRESHOLD).
On the labelled pairs of tests/fixtures/dedup the exact similarity of true duplicates is at
least 0.69 and that of distinct articles at most 0.46."""
MIN_BODY_CHARS = 50
"""Invariant characters a body needs before it can be a duplicate of anything: bodies such as
"详见附件。" are shared by many different notices."""

_NON_WORD = re.compile(r"[\W_]+")


# --- Text ----------------------------------------------------------------------------------------


def invariant_text(text: str, converter: ScriptConverter | None = None) -> str:
    """The script-invariant form of a text: NFKC, mirror pinyin readings and the spans they
    damaged removed, OpenCC tw2s, lower case, only letters and digits left.

    "高新區(qū)(濱江)召開(kāi)" and "高新区（滨江）召开" both become "高新区滨江召开";
    "1,234.5" becomes "12345". Pass a converter to reuse one (building one loads dictionaries).
    """
    if not text:
        return ""
    text = unicodedata.normalize("NFKC", text)
    readings = strip_pinyin_annotations(text)
    text = readings.text
    for span in readings.damaged:
        text = text.replace(span, "")
    text = (converter or ScriptConverter()).convert(text)
    return _NON_WORD.sub("", text.casefold())


def comparison_text(record: Mapping[str, Any], converter: ScriptConverter | None = None) -> str:
    """The invariant form of a record's title and body together, as near duplicates compare."""
    title = record.get("title") or ""
    body = record.get("body") or ""
    return invariant_text(f"{title}\n{body}", converter)


def content_hash(body: str, converter: ScriptConverter | None = None) -> str:
    """SHA-256 (64 hex digits) of the invariant form of a body: equal for exact duplicates."""
    return _sha256(invariant_text(body, converter))


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# --- Index ---------------------------------------------------------------------------------------

_INDEX_MAGIC = b"PKNDUPIX"
_INDEX_FORMAT = 1
_INDEX_HEADER = struct.Struct("<8sHBHHBdQQQ")
_SLOT_BITS = 32
_SLOT_MASK = (1 << _SLOT_BITS) - 1
_COMPACT_MIN_SLOTS = 64
"""Slots below which removed documents are not worth compacting away."""


class NearDuplicateIndex:
    """Signatures of documents, searchable for near duplicates by LSH banding.

    `add` stores a document's signature under its id (replacing any earlier one) and files
    each of its BANDS bands; `query` collects the documents sharing at least one band with
    a text and returns those whose estimated similarity reaches the threshold. Texts are
    expected in `comparison_text` form.

    Memory is flat arrays, not Python objects per entry: 257 bytes of signature and
    BANDS band entries of 8 bytes (in an open-addressing table kept at most half full, so
    16 bytes each) per document, plus its id: about 0.9 GB for a million documents. The
    space of replaced and removed documents is reclaimed once they fill half the slots, so
    an index that documents come and go through stays the size of what it holds.
    """

    def __init__(self, threshold: float = DEFAULT_THRESHOLD, *, capacity: int = 0) -> None:
        check_threshold(threshold)
        if capacity < 0:
            raise ValueError(f"capacity must be 0 or more documents, got {capacity}")
        self.threshold = threshold
        self._ids: list[str | None] = []
        self._slot_of: dict[str, int] = {}
        self._sigs = bytearray()
        self._table = array("Q", [0]) * _table_size(capacity * BANDS)
        self._entries = 0

    def __len__(self) -> int:
        return len(self._slot_of)

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self._slot_of

    def __iter__(self) -> Iterator[str]:
        """The ids of the indexed documents, in the order they were (last) added."""
        return iter(list(self._slot_of))

    def add(self, doc_id: str, text: str) -> bool:
        """Index the comparison text of document `doc_id`; False (nothing indexed) when the
        text is empty."""
        sig = signature(text)
        if sig is None:
            return False
        self.add_signature(doc_id, sig)
        return True

    def add_signature(self, doc_id: str, sig: bytes) -> None:
        """Index a signature computed earlier (e.g. read back from the state store)."""
        if not isinstance(doc_id, str) or not doc_id or "\n" in doc_id:
            raise ValueError(f"doc_id must be a non-empty one-line string, got {doc_id!r}")
        check_signature(sig)
        if doc_id in self._slot_of:
            self.remove(doc_id)
        slot = len(self._ids)
        if slot >= _SLOT_MASK:
            raise OverflowError("NearDuplicateIndex holds at most 2**32 - 1 signatures")
        self._ids.append(doc_id)
        self._slot_of[doc_id] = slot
        self._sigs += sig
        size = len(self._table)
        if 2 * (self._entries + BANDS) > size:
            # Entries of removed documents are dropped, not moved: when they filled the table,
            # cleaning it at the same size leaves it at most a quarter full.
            live = len(self._slot_of) * BANDS
            self._rehash(2 * size if 4 * live > size else size)
        table = self._table
        mask = len(table) - 1
        for key in band_keys(sig):  # `_insert`, inlined: this loop is most of a rebuild
            index = key & mask
            while table[index]:
                index = (index + 1) & mask
            table[index] = (key << _SLOT_BITS) | (slot + 1)
        self._entries += BANDS

    def remove(self, doc_id: str) -> bool:
        """Forget a document; False when it was not indexed."""
        slot = self._slot_of.pop(doc_id, None)
        if slot is None:
            return False
        self._ids[slot] = None
        if len(self._ids) >= _COMPACT_MIN_SLOTS and 2 * len(self._slot_of) < len(self._ids):
            self._compact()
        return True

    def signature_of(self, doc_id: str) -> bytes | None:
        """The indexed signature of `doc_id`, or None."""
        slot = self._slot_of.get(doc_id)
        if slot is None:
            return None
        return bytes(self._sigs[slot * SIGNATURE_BYTES : (slot + 1) * SIGNATURE_BYTES])

    def query(
        self, text: str, threshold: float | None = None, limit: int | None = None
    ) -> list[tuple[str, float]]:
        """Indexed documents similar to a comparison text: (doc_id, estimated similarity),
        most similar first, those at `threshold` (default: the index's) or above."""
        sig = signature(text)
        return [] if sig is None else self.query_signature(sig, threshold, limit)

    def query_signature(
        self, sig: bytes, threshold: float | None = None, limit: int | None = None
    ) -> list[tuple[str, float]]:
        """`query` for a signature."""
        check_signature(sig)
        found = rank(
            sig,
            self._signatures(self._candidates(sig)),
            self.threshold if threshold is None else threshold,
        )
        return found if limit is None else found[:limit]

    def _signatures(self, slots: Iterable[int]) -> Iterator[tuple[str, memoryview]]:
        """(doc_id, signature) of the live documents among `slots`."""
        ids = self._ids
        sigs = memoryview(self._sigs)
        for slot in slots:
            doc_id = ids[slot]
            if doc_id is not None:
                yield doc_id, sigs[slot * SIGNATURE_BYTES : (slot + 1) * SIGNATURE_BYTES]

    def _candidates(self, sig: bytes) -> set[int]:
        """Slots of the signatures sharing a band with `sig`."""
        table = self._table
        mask = len(table) - 1
        slots: set[int] = set()
        for key in band_keys(sig):
            index = key & mask
            entry = table[index]
            while entry:
                if entry >> _SLOT_BITS == key:
                    slots.add((entry & _SLOT_MASK) - 1)
                index = (index + 1) & mask
                entry = table[index]
        return slots

    def _insert(self, entry: int) -> None:
        table = self._table
        mask = len(table) - 1
        index = (entry >> _SLOT_BITS) & mask
        while table[index]:
            index = (index + 1) & mask
        table[index] = entry
        self._entries += 1

    def _compact(self) -> None:
        """Give the live documents the first slots, in order, and drop what removed ones
        held: their signatures, their ids and their band entries."""
        moved = array("Q", [0]) * len(self._ids)
        sigs = bytearray()
        old_sigs = memoryview(self._sigs)
        for new, (doc_id, old) in enumerate(self._slot_of.items()):
            moved[old] = new + 1
            self._slot_of[doc_id] = new
            sigs += old_sigs[old * SIGNATURE_BYTES : (old + 1) * SIGNATURE_BYTES]
        old_sigs.release()
        old_table = self._table
        self._ids = list(self._slot_of)
        self._sigs = sigs
        self._table = array("Q", [0]) * _table_size(len(self._ids) * BANDS)
        self._entries = 0
        for entry in old_table:
            if entry and (slot := moved[(entry & _SLOT_MASK) - 1]):
                self._insert((entry >> _SLOT_BITS << _SLOT_BITS) | slot)

    def _rehash(self, size: int) -> None:
        """Move the live entries into a table of `size` slots (a power of two)."""
        old, ids = self._table, self._ids
        self._table = array("Q", [0]) * size
        self._entries = 0
        for entry in old:
            if entry and ids[(entry & _SLOT_MASK) - 1] is not None:
                self._insert(entry)

    # -- persistence

    def to_bytes(self) -> bytes:
        """The live documents as bytes for `from_bytes` (removed ones are left out)."""
        live = [(slot, doc_id) for slot, doc_id in enumerate(self._ids) if doc_id is not None]
        ids = "\n".join(doc_id for _, doc_id in live).encode("utf-8")
        sigs = bytearray()
        for slot, _ in live:
            sigs += self._sigs[slot * SIGNATURE_BYTES : (slot + 1) * SIGNATURE_BYTES]
        header = _INDEX_HEADER.pack(
            _INDEX_MAGIC,
            _INDEX_FORMAT,
            SIGNATURE_SCHEME,
            SIGNATURE_SIZE,
            BAND_ROWS,
            0,
            self.threshold,
            len(live),
            len(ids),
            len(sigs),
        )
        return header + ids + bytes(sigs)

    @classmethod
    def from_bytes(cls, data: bytes, threshold: float | None = None) -> NearDuplicateIndex:
        """An index rebuilt from `to_bytes` output (with its threshold unless one is given).
        ValueError when the data is not an index of the current format and scheme."""
        size = _INDEX_HEADER.size
        if len(data) < size:
            raise ValueError("not a NearDuplicateIndex: too short")
        magic, version, scheme, bins, rows, _, stored, count, ids_len, sigs_len = (
            _INDEX_HEADER.unpack_from(data)
        )
        if magic != _INDEX_MAGIC:
            raise ValueError("not a NearDuplicateIndex: wrong magic")
        if (version, scheme, bins, rows) != (
            _INDEX_FORMAT,
            SIGNATURE_SCHEME,
            SIGNATURE_SIZE,
            BAND_ROWS,
        ):
            raise ValueError(
                f"index of format {version}, scheme {scheme}, {bins} bins, {rows} rows per band "
                f"cannot be read by this version; rebuild it from the state store"
            )
        if len(data) != size + ids_len + sigs_len or sigs_len != count * SIGNATURE_BYTES:
            raise ValueError("NearDuplicateIndex data is truncated or damaged")
        ids = data[size : size + ids_len].decode("utf-8").split("\n") if count else []
        if len(ids) != count:
            raise ValueError("NearDuplicateIndex data is damaged: id count differs")
        index = cls(stored if threshold is None else threshold, capacity=count)
        sigs = memoryview(data)[size + ids_len :]
        for slot, doc_id in enumerate(ids):
            index.add_signature(
                doc_id, bytes(sigs[slot * SIGNATURE_BYTES : (slot + 1) * SIGNATURE_BYTES])
            )
        return index

    @classmethod
    def from_signatures(
        cls,
        signatures: Iterable[tuple[str, bytes]],
        threshold: float = DEFAULT_THRESHOLD,
        *,
        capacity: int = 0,
    ) -> NearDuplicateIndex:
        """An index of (doc_id, signature) pairs, e.g. `StateStore.iter_signatures()`;
        signatures of another scheme are skipped."""
        index = cls(threshold, capacity=capacity)
        for doc_id, sig in signatures:
            if is_current(sig):
                index.add_signature(doc_id, sig)
        return index


def _table_size(entries: int) -> int:
    """The smallest power of two (at least 1024) holding `entries` at most half full."""
    size = 1024
    while size < 2 * entries:
        size *= 2
    return size


# --- Verdicts ------------------------------------------------------------------------------------

VerdictKind = Literal["new", "revision", "unchanged", "exact_duplicate", "near_duplicate"]


class ArticleLookup(Protocol):
    """What `classify` reads from the state: `StateStore` or a `PendingLookup` over one."""

    def get(self, key: str) -> ArticleState | None: ...

    def find_by_content_hash(self, content_hash: str) -> ArticleState | None: ...

    def near_duplicates(self, sig: bytes, threshold: float) -> list[tuple[str, float]]: ...


@dataclass(frozen=True)
class Verdict:
    """What to do with one record."""

    kind: VerdictKind
    """"new": an article not seen before; "revision": a known article (same key) whose
    content changed; "unchanged": a known article with the same content; "exact_duplicate"
    and "near_duplicate": a copy of another article, for the duplicates file."""
    key: str
    """`article_key` of the record's canonical URL."""
    id: str
    """The id the record should carry: the stored one for a known article (so every revision
    keeps the first id), else the record's own."""
    content_hash: str
    """`content_hash` of the body."""
    fingerprint: str | None
    """`fingerprint` of the record's signature; None when the text is empty."""
    revision: int
    """1 for a new article or a duplicate, the stored revision (plus 1 for a revision)."""
    duplicate_of: str | None = None
    """Id of the article this record duplicates."""
    similarity: float | None = None
    """Estimated similarity to `duplicate_of` (1.0 for an exact duplicate)."""
    signature: bytes | None = field(default=None, repr=False)
    """MinHash signature of the comparison text, for the index and the state store."""

    @property
    def emit(self) -> bool:
        """Whether the record belongs in the main feed."""
        return self.kind in ("new", "revision")

    @property
    def is_duplicate(self) -> bool:
        """Whether the record belongs in the duplicates file."""
        return self.kind in ("exact_duplicate", "near_duplicate")

    def annotate(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """A copy of `record` with the verdict's fields: id, content_hash, fingerprint and
        revision; updated_at (the record's fetched_at) for a revision; duplicate_of and
        similarity (3 decimals) for a duplicate."""
        out = dict(record)
        out["id"] = self.id
        out["content_hash"] = self.content_hash
        out["fingerprint"] = self.fingerprint
        out["revision"] = self.revision
        if self.kind == "revision":
            out["updated_at"] = record.get("fetched_at")
        if self.is_duplicate:
            out["duplicate_of"] = self.duplicate_of
            out["similarity"] = None if self.similarity is None else round(self.similarity, 3)
        return out

    def written(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """What `StateStore.commit_written` needs once the record is written: the annotated
        record plus its key and signature (no signature for duplicates, which are never
        searched for)."""
        out = self.annotate(record)
        out["key"] = self.key
        out["duplicate_of"] = self.duplicate_of
        out["signature"] = None if self.is_duplicate else self.signature
        return out


def classify(
    record: Mapping[str, Any],
    index: NearDuplicateIndex,
    store: ArticleLookup,
    *,
    threshold: float | None = None,
    converter: ScriptConverter | None = None,
) -> Verdict:
    """Decide what a record is, reading the state and the index without changing them.

    In order: a known article key (`store.get`) gives "unchanged" or "revision" by content
    hash; else a stored article with the same content hash gives "exact_duplicate" (of that
    article's original when it is itself a duplicate); else the most similar document at
    `threshold` (default: the index's) or above, among those indexed and those the store
    finds (`store.near_duplicates`), gives "near_duplicate"; else "new". Where both know a
    document, the index has its latest revision and is believed. Bodies shorter than
    MIN_BODY_CHARS invariant characters are never duplicates. After writing the record,
    add new and revised ones to the index and commit them to the store.
    """
    converter = converter or ScriptConverter()
    url = record.get("canonical_url") or record.get("url")
    if not isinstance(url, str) or not url:
        raise ValueError("classify needs a record with a canonical_url or url")
    key = article_key(url)
    own_id = str(record.get("id") or "")
    body = invariant_text(str(record.get("body") or ""), converter)
    chash = _sha256(body)
    sig = signature(comparison_text(record, converter))
    summary = None if sig is None else fingerprint(sig)

    def verdict(kind: VerdictKind, article_id: str, revision: int, **extra: Any) -> Verdict:
        return Verdict(kind, key, article_id, chash, summary, revision, signature=sig, **extra)

    known = store.get(key)
    if known is not None:
        if known.content_hash == chash:
            return verdict("unchanged", known.id, known.revision)
        return verdict("revision", known.id, known.revision + 1)
    if len(body) >= MIN_BODY_CHARS:
        original = store.find_by_content_hash(chash)
        if original is not None and original.id != own_id:
            return verdict(
                "exact_duplicate",
                own_id,
                1,
                duplicate_of=original.duplicate_of or original.id,
                similarity=1.0,
            )
        if sig is not None:
            level = index.threshold if threshold is None else threshold
            matches = index.query_signature(sig, level)
            matches += (m for m in store.near_duplicates(sig, level) if m[0] not in index)
            for doc_id, score in sorted(matches, key=best_first):
                if doc_id != own_id:
                    return verdict(
                        "near_duplicate", own_id, 1, duplicate_of=doc_id, similarity=score
                    )
    return verdict("new", own_id, 1)


class PendingLookup:
    """The state store plus the records of this run classified but not yet committed.

    Records are committed only once written, so two copies of one article met in one run
    would otherwise both look new. `remember` each classified record, `forget` the keys a
    commit stored (or keep them: the store gives the same answer).
    """

    def __init__(self, store: ArticleLookup) -> None:
        self.store = store
        self._by_key: dict[str, ArticleState] = {}
        self._by_hash: dict[str, ArticleState] = {}

    def remember(self, verdict: Verdict, record: Mapping[str, Any]) -> None:
        """Take note of a classified record (an "unchanged" one changes nothing)."""
        if verdict.kind == "unchanged":
            return
        state = ArticleState(
            key=verdict.key,
            id=verdict.id,
            canonical_url=str(record.get("canonical_url") or record.get("url") or ""),
            site=str(record.get("site") or ""),
            content_hash=verdict.content_hash,
            fingerprint=verdict.fingerprint,
            signature=verdict.signature,
            revision=verdict.revision,
            duplicate_of=verdict.duplicate_of,
            first_seen="",
            last_seen="",
            last_run=None,
        )
        self._by_key[verdict.key] = state
        self._by_hash.setdefault(verdict.content_hash, state)

    def forget(self, keys: Iterable[str]) -> None:
        """Drop pending entries (after their commit)."""
        for key in keys:
            state = self._by_key.pop(key, None)
            if state is not None and self._by_hash.get(state.content_hash) is state:
                del self._by_hash[state.content_hash]

    def get(self, key: str) -> ArticleState | None:
        return self._by_key.get(key) or self.store.get(key)

    def find_by_content_hash(self, content_hash: str) -> ArticleState | None:
        return self.store.find_by_content_hash(content_hash) or self._by_hash.get(content_hash)

    def near_duplicates(self, sig: bytes, threshold: float) -> list[tuple[str, float]]:
        """The store's answer: pending records are in the pipeline's index."""
        return self.store.near_duplicates(sig, threshold)


# --- Item pipeline --------------------------------------------------------------------------------


RESTORE_CONTEXT_CHARS = 6
"""Characters on each side of a damaged span that must match the original exactly."""
RESTORE_MAX_CHARS = 12
"""Longest stretch of the original that may stand in for one damaged span."""


def restore_damaged_spans(record: Mapping[str, Any], original: str | None) -> dict[str, Any]:
    """Mend the spans a mirror damaged from the original article's body, where the text on
    both sides of a span is found in the original exactly once; spans that cannot be mended
    stay flagged in `damaged_annotations`."""
    out = dict(record)
    if not original:
        return out
    body = str(out.get("body") or "")
    left_damaged = []
    for span in out.get("damaged_annotations") or []:
        at = body.find(span)
        if at < 0:
            continue
        before = body[max(0, at - RESTORE_CONTEXT_CHARS) : at]
        after = body[at + len(span) : at + len(span) + RESTORE_CONTEXT_CHARS]
        pattern = re.escape(before) + f"(.{{0,{RESTORE_MAX_CHARS}}}?)" + re.escape(after)
        matches = list(re.finditer(pattern, original))
        if len(before) == len(after) == RESTORE_CONTEXT_CHARS and len(matches) == 1:
            body = body[:at] + matches[0][1] + body[at + len(span) :]
        else:
            left_damaged.append(span)
    if len(left_damaged) < len(out.get("damaged_annotations") or []):
        out["body"] = body
        out["normalisations"] = [*out.get("normalisations", []), "restored_from_original"]
        if left_damaged:
            out["damaged_annotations"] = left_damaged
        else:
            out.pop("damaged_annotations", None)
    return out


class _NoState:
    """An empty lookup, for runs without a state database: duplicates are found within the run."""

    def get(self, key: str) -> ArticleState | None:
        return None

    def find_by_content_hash(self, content_hash: str) -> ArticleState | None:
        return None

    def near_duplicates(self, sig: bytes, threshold: float) -> list[tuple[str, float]]:
        return []


class DedupPipeline:
    """Gives each record its identity fields and routes copies to the duplicates file.

    Every record gains `content_hash`, `fingerprint` and `revision` (and `updated_at` when it
    is a revision); a copy of another article gains `duplicate_of` and `similarity`, which the
    output sends to the duplicates feed; an article already written with the same content is
    dropped. Settings: ``PARKNEWS_DEDUP_THRESHOLD`` (default 0.6, estimated Jaccard similarity
    of the script-invariant texts). Stats: ``parknews/<site>/articles_<verdict kind>``.

    With a state database, the articles of earlier runs and of this run's committed batches
    are searched in the database; `index` holds only the records emitted since the last
    commit that wrote them, so memory does not grow with the run or with the state.
    Without one, `index` holds every record the run emitted.
    """

    def __init__(self, crawler: Crawler, threshold: float) -> None:
        from crawler.incremental import CrawlState  # the state imports pipelines: import late

        check_threshold(threshold)
        self.crawler = crawler
        self.state = crawler.get_extension(CrawlState)
        store: ArticleLookup = self.state.store if self.state is not None else _NoState()
        self.pending = PendingLookup(store)
        self.index = NearDuplicateIndex(threshold)
        self.indexed: dict[str, str] = {}
        """Id in `index` of each emitted record's article key, until its commit."""
        if self.state is not None:
            # Once committed, the store answers for a record: the run need not hold it.
            self.state.commit_listeners.append(self.committed)
        self.originals: dict[str, str] = {}
        """Bodies of this run's articles from sites that a crawled mirror copies, by id."""
        self.converter = ScriptConverter()

    def mirrored_sites(self) -> set[str]:
        """Keys of the crawled sites that a crawled mirror copies."""
        profiles = getattr(self.crawler.spider, "profiles", {})
        return {p.mirror_of for p in profiles.values() if p.mirror_of in profiles}

    def committed(self, keys: Iterable[str]) -> None:
        """Forget what the run held for articles now in the state store."""
        keys = list(keys)
        self.pending.forget(keys)
        for key in keys:
            doc_id = self.indexed.pop(key, None)
            if doc_id is not None:
                self.index.remove(doc_id)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> DedupPipeline:
        return cls(
            crawler, crawler.settings.getfloat("PARKNEWS_DEDUP_THRESHOLD", DEFAULT_THRESHOLD)
        )

    def process_item(self, item: Any) -> Any:
        record = ItemAdapter(item).asdict()
        verdict = classify(record, self.index, self.pending, converter=self.converter)
        self.pending.remember(verdict, record)
        stats = self.crawler.stats
        if stats is not None:
            stats.inc_value(f"parknews/{record.get('site')}/articles_{verdict.kind}")
        if verdict.kind == "unchanged":
            raise DropItem(f"unchanged since it was last written: {record.get('url')}", "DEBUG")
        if verdict.emit and verdict.signature is not None:
            self.index.add_signature(verdict.id, verdict.signature)
            if self.state is not None:
                self.indexed[verdict.key] = verdict.id
        if verdict.emit and record.get("site") in self.mirrored_sites():
            self.originals[verdict.id] = str(record.get("body") or "")
        if verdict.is_duplicate and record.get("damaged_annotations"):
            record = restore_damaged_spans(record, self.originals.get(verdict.duplicate_of or ""))
        annotated = verdict.annotate(record)
        if self.state is not None:
            self.state.written_later(verdict.written(record))
        return annotated

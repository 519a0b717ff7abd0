"""What a record is (new, a revision, unchanged, or a copy of another article), decided from
the state store, this run's pending records and the near-duplicate index."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from crawler.cms import article_key
from crawler.state.articles import ArticleState
from crawler.text.minhash import best_first, fingerprint, signature
from pipelines.dedup.index import NearDuplicateIndex
from pipelines.dedup.text import comparison_text, invariant_text, sha256_hex
from pipelines.normalise.script import ScriptConverter

MIN_BODY_CHARS = 50
"""Invariant characters a body needs before it can be a duplicate of anything: bodies such as
"详见附件。" are shared by many different notices."""

VerdictKind = Literal["new", "revision", "unchanged", "exact_duplicate", "near_duplicate"]


class ArticleLookup(Protocol):
    """What `classify` reads from the state: a `StateBackend` or a `PendingLookup` over one."""

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
    claims_content: bool = False
    """A new article whose body is long enough to be a copy, and no stored article holds:
    should another writer commit the same content first, the store keeps this one as a copy
    of it (`crawler.state.articles.article_row`)."""

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
        out["claims_content"] = self.claims_content
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
    article's original when it is itself a duplicate, unless that original is the record
    itself); else the most similar document at
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
    chash = sha256_hex(body)
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
        # The stored text may be a copy of this very article, committed before it by a run
        # that was stopped: an article is never a duplicate of itself.
        target = None if original is None else original.duplicate_of or original.id
        if target is not None and target != own_id:
            return verdict("exact_duplicate", own_id, 1, duplicate_of=target, similarity=1.0)
        if sig is not None:
            level = index.threshold if threshold is None else threshold
            matches = index.query_signature(sig, level)
            matches += (m for m in store.near_duplicates(sig, level) if m[0] not in index)
            for doc_id, score in sorted(matches, key=best_first):
                if doc_id != own_id:
                    return verdict(
                        "near_duplicate", own_id, 1, duplicate_of=doc_id, similarity=score
                    )
    return verdict("new", own_id, 1, claims_content=len(body) >= MIN_BODY_CHARS)


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


class NoState:
    """An empty lookup, for runs without a state database: duplicates are found within the run."""

    def get(self, key: str) -> ArticleState | None:
        return None

    def find_by_content_hash(self, content_hash: str) -> ArticleState | None:
        return None

    def near_duplicates(self, sig: bytes, threshold: float) -> list[tuple[str, float]]:
        return []

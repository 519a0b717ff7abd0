"""The in-memory near-duplicate index: MinHash signatures filed by their LSH bands."""

from __future__ import annotations

import struct
from array import array
from collections.abc import Iterable, Iterator

from crawler.default_settings import PARKNEWS_DEDUP_THRESHOLD as DEFAULT_THRESHOLD
from crawler.text.minhash import (
    BAND_ROWS,
    BANDS,
    SIGNATURE_BYTES,
    SIGNATURE_SCHEME,
    SIGNATURE_SIZE,
    band_keys,
    check_signature,
    check_threshold,
    is_current,
    rank,
    signature,
)

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

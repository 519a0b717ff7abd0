"""MinHash signatures of texts, their similarity and their LSH bands.

A text is compared as the set of its SHINGLE_CHARS-character shingles in which a shingle
holding a digit counts DIGIT_WEIGHT times (weighted Jaccard similarity). `signature` estimates
it with one-permutation MinHash and densification: SIGNATURE_SIZE 16-bit minimums after a
scheme byte. `band_keys` cuts a signature into BANDS bands of BAND_ROWS values, the keys under
which both `pipelines.dedup.index.NearDuplicateIndex` and the state store (`crawler.state`)
file it, and `rank` scores candidates found by their bands. Pure functions, no state: the
state store imports this module, and `pipelines.dedup` builds on it.
"""

from __future__ import annotations

import hashlib
import struct
import sys
import zlib
from array import array
from collections.abc import Iterable
from functools import partial
from operator import methodcaller

# Tunable numbers, in one place. Changing any of the first four changes every signature:
# bump SIGNATURE_SCHEME with them, so that stored signatures of the old scheme are refused.
# The state store keeps the bands of its signatures: changing BAND_ROWS or `band_keys` also
# needs a state migration that files them again.
SHINGLE_CHARS = 4
"""Characters per shingle: about two Chinese words."""
DIGIT_WEIGHT = 3
"""How many times a shingle holding a digit counts (1 to 16: one hash word per count)."""
SIGNATURE_SIZE = 128
"""MinHash bins (a power of two); the similarity estimate's standard error is about
sqrt(J(1-J)/128), 0.04 at J = 0.6."""
BAND_ROWS = 4
"""Signature values per LSH band; SIGNATURE_SIZE / BAND_ROWS bands. A pair at similarity J
shares a band with probability 1 - (1 - J**4)**32: 0.99 at 0.6, 0.23 at 0.3, 0.003 at 0.1."""
SIGNATURE_SCHEME = 1
"""First byte of every signature: the parameters and hash above, version 1."""

BANDS = SIGNATURE_SIZE // BAND_ROWS
SIGNATURE_BYTES = 1 + 2 * SIGNATURE_SIZE
"""Length of a signature: the scheme byte, then one little-endian 16-bit value per bin."""
_BIN_BITS = SIGNATURE_SIZE.bit_length() - 1
_BIN_MASK = SIGNATURE_SIZE - 1
_PERSON = b"parknews.dedup"
_LANE_LOW_BITS = int.from_bytes(b"\x01\x00" * SIGNATURE_SIZE, "little")

if SIGNATURE_SIZE & _BIN_MASK or SIGNATURE_SIZE % BAND_ROWS or not 1 <= DIGIT_WEIGHT <= 16:
    raise ValueError(
        "crawler.text.minhash: SIGNATURE_SIZE must be a power of two divisible by BAND_ROWS "
        "and DIGIT_WEIGHT 1 to 16"
    )


# --- Shingles ------------------------------------------------------------------------------------


def shingles(text: str) -> set[str]:
    """The distinct SHINGLE_CHARS-character substrings of `text` (the text itself when it is
    shorter)."""
    size = SHINGLE_CHARS
    if len(text) <= size:
        return {text} if text else set()
    return {text[i : i + size] for i in range(len(text) - size + 1)}


def _weight(shingle: str) -> int:
    if shingle.isalpha():
        return 1
    return DIGIT_WEIGHT if any(char.isdigit() for char in shingle) else 1


# --- Signatures ----------------------------------------------------------------------------------


def _densify_orders() -> tuple[tuple[int, ...], ...]:
    """For each bin, the other bins in a fixed pseudo-random order: an empty bin takes the
    value of the first non-empty one, the same choice for every text (optimal densification
    of one-permutation hashing)."""
    orders = []
    for source in range(SIGNATURE_SIZE):
        ranked = sorted(
            (
                hashlib.blake2b(
                    struct.pack("<HH", source, other), digest_size=8, person=_PERSON
                ).digest(),
                other,
            )
            for other in range(SIGNATURE_SIZE)
            if other != source
        )
        orders.append(tuple(other for _, other in ranked))
    return tuple(orders)


_DENSIFY = _densify_orders()
_HASH_PLAIN = partial(hashlib.blake2b, digest_size=4)
_HASH_WEIGHTED = partial(hashlib.blake2b, digest_size=4 * DIGIT_WEIGHT)
_DIGEST = methodcaller("digest")
_ENCODE = methodcaller("encode", "utf-8")


def signature(text: str) -> bytes | None:
    """The MinHash signature of a text (see the module docstring), or None for an empty text.

    Each shingle is hashed once with BLAKE2b into one 32-bit word per unit of its weight;
    a word's low bits pick a bin and the rest compete for the bin's minimum. Bins that no
    word reached borrow from another bin (`_densify_orders`).
    """
    found = shingles(text)
    if not found:
        return None
    plain = [shingle for shingle in found if _weight(shingle) == 1]
    words = array("I", b"".join(map(_DIGEST, map(_HASH_PLAIN, map(_ENCODE, plain)))))
    if len(plain) < len(found):
        weighted = [shingle for shingle in found if _weight(shingle) > 1]
        words.frombytes(b"".join(map(_DIGEST, map(_HASH_WEIGHTED, map(_ENCODE, weighted)))))
    if sys.byteorder == "big":
        words.byteswap()
    # Within a bin, a larger word has the larger value: assigning in descending order
    # leaves each bin its minimum.
    mins = {word & _BIN_MASK: word >> _BIN_BITS for word in sorted(words, reverse=True)}
    values = array("H", [0]) * SIGNATURE_SIZE
    for slot in range(SIGNATURE_SIZE):
        value = mins.get(slot)
        if value is None:
            value = next(mins[other] for other in _DENSIFY[slot] if other in mins)
        values[slot] = value & 0xFFFF
    if sys.byteorder == "big":
        values.byteswap()
    return bytes((SIGNATURE_SCHEME,)) + values.tobytes()


def check_signature(sig: bytes) -> None:
    """ValueError unless `sig` is a signature of the current scheme."""
    if len(sig) != SIGNATURE_BYTES or sig[0] != SIGNATURE_SCHEME:
        raise ValueError(
            f"not a scheme-{SIGNATURE_SCHEME} signature of {SIGNATURE_BYTES} bytes "
            f"(got {len(sig)} bytes, scheme {sig[0] if sig else None}); signatures from "
            f"another parknews version cannot be compared: let the articles be signed again"
        )


def _matches(a: int, b: int) -> int:
    """How many of the 16-bit values packed in `a` and `b` are equal."""
    x = a ^ b
    x |= x >> 8
    x |= x >> 4
    x |= x >> 2
    x |= x >> 1
    return SIGNATURE_SIZE - (x & _LANE_LOW_BITS).bit_count()


def _values(sig: bytes | memoryview) -> int:
    return int.from_bytes(sig[1:], "little")


def similarity(a: bytes, b: bytes) -> float:
    """Estimated weighted Jaccard similarity of the texts of two signatures, in [0, 1]."""
    check_signature(a)
    check_signature(b)
    return _matches(_values(a), _values(b)) / SIGNATURE_SIZE


def fingerprint(sig: bytes) -> str:
    """A 64-bit summary of a signature as 16 hex digits: the lowest bit of its first 64
    values (one-bit MinHash). Two texts' fingerprints agree on a bit with probability
    (1 + J) / 2, which `fingerprint_similarity` turns back into a rough J."""
    check_signature(sig)
    bits = 0
    for index in range(64):
        bits |= (sig[1 + 2 * index] & 1) << index
    return f"{bits:016x}"


def fingerprint_similarity(a: str, b: str) -> float:
    """Rough similarity of two texts from their fingerprints (standard error about 0.09)."""
    differing = (int(a, 16) ^ int(b, 16)).bit_count()
    return max(0.0, 1.0 - 2.0 * differing / 64)


def is_current(sig: bytes | memoryview) -> bool:
    """Whether `sig` is a signature of the current scheme (`check_signature` without raising)."""
    return len(sig) == SIGNATURE_BYTES and sig[0] == SIGNATURE_SCHEME


# --- LSH bands -----------------------------------------------------------------------------------


def band_keys(sig: bytes | memoryview) -> list[int]:
    """The 32-bit LSH key of each band of a signature; a band's number is part of its key."""
    step = 2 * BAND_ROWS
    return [zlib.crc32(sig[1 + band * step : 1 + (band + 1) * step], band) for band in range(BANDS)]


def check_threshold(threshold: float) -> None:
    """ValueError unless `threshold` is a similarity in (0, 1]."""
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"threshold must be in (0, 1], got {threshold!r}")


def best_first(match: tuple[str, float]) -> tuple[float, str]:
    """Sort key of (id, similarity) matches: most similar first, then by id."""
    return -match[1], match[0]


def rank(
    sig: bytes, candidates: Iterable[tuple[str, bytes | memoryview]], threshold: float
) -> list[tuple[str, float]]:
    """The (id, estimated similarity) of the candidates, e.g. those sharing a band with
    `sig`, whose similarity to `sig` reaches `threshold`, most similar first. Candidates
    whose signature is of another scheme are skipped."""
    check_signature(sig)
    check_threshold(threshold)
    wanted = _values(sig)
    found = []
    for doc_id, other in candidates:
        if is_current(other):
            score = _matches(wanted, _values(other)) / SIGNATURE_SIZE
            if score >= threshold:
                found.append((doc_id, score))
    found.sort(key=best_first)
    return found

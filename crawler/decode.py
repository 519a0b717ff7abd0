"""Decoding of page bytes to text: declared charsets checked, detection as a fallback, repair.

`decode_page` follows browsers (BOM, then the HTTP header, then the meta prescan) through
w3lib, which already maps GB2312/GBK to GB18030 and Big5 to Big5-HKSCS, and adds what the
park sites need: a legacy declaration on a body that is valid UTF-8 is overruled; a
declaration that does not decode the body (replacement or private-use characters) gives way
to the other declaration, then to charset-normalizer; certain mojibake (UTF-8 read as
Latin-1 or as GBK and saved again) is undone. Nothing raises on web input and nothing is
dropped: characters that cannot be decoded stay as U+FFFD and are counted.

A site's own charset (its profile's `encoding_hint`) decodes the pages that do not say theirs
(`site_charset_counts`) before detection guesses.

`crawler.middlewares.charset.CharsetRepairMiddleware` applies it to responses whose text
Scrapy decoded badly, or without their site's charset.
"""

from __future__ import annotations

import codecs
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache, cached_property
from itertools import accumulate
from typing import Literal

from charset_normalizer import from_bytes
from w3lib.encoding import (
    html_body_declared_encoding,
    http_content_type_encoding,
    read_bom,
    resolve_encoding,
    to_unicode,
)

Declared = Literal["bom", "header", "meta", "site", "none"]

# Tunable numbers, in one place.
UTF8_MIN_SEQUENCES = 4
"""Multi-byte UTF-8 sequences a body needs before its UTF-8 validity overrules a declaration."""
PUA_MIN_CHARS = 3
"""Private-use characters that make a decoding suspect (one rare name glyph is normal)..."""
PUA_MAX_SHARE = 0.01
"""...when they are also more than this share of the non-ASCII characters."""
GBK_MOJIBAKE_MIN_CHARS = 3
"""Length of a run of characters (between tags or ASCII) repaired as UTF-8 read as GBK..."""
GBK_MOJIBAKE_MIN_SEGMENT = 6
"""...and of a segment repaired inside a longer run, where chance alignment is likelier."""
GBK_MOJIBAKE_MIN_EXTENDED = 0.25
"""Share of a run outside GB2312 that mojibake shows (UTF-8 bytes land in GBK's rare rows)."""
GBK_MOJIBAKE_MIN_COMMON = 0.8
"""Share of a repair's characters that must be frequent ones (real text, not chance)."""
FALLBACK_ENCODINGS = ("gb18030", "big5hkscs")
"""Tried after detection when nothing declared decodes the body: the park sites' charsets."""
CHINESE_MIN_SHARE = 0.5
"""Share of a page's non-ASCII characters that must be Han for an undeclared page to be read
as GB18030 without asking charset detection..."""
CHINESE_MAX_BROKEN_SHARE = 0.01
"""...and the share of them that may be broken bytes."""
WESTERN_DEFAULTS = frozenset({"cp1252", "iso8859-1", "ascii"})
"""Header charsets that servers send by default, overruled by a CJK meta declaration."""
CJK_ENCODINGS = frozenset({"gb18030", "big5hkscs", "big5", "cp950", "utf-8"})

_UTF8 = "utf-8"
_UTF8_REPLACEMENT = b"\xef\xbf\xbd"
_PRIVATE_USE = re.compile("[^\x00-\udfff\uf900-\U000effff]")
"""A private-use character (U+E000-U+F8FF, planes 15 and 16), as the complement of what lies
around them: the regex engine scans a page for this class faster than for the ranges."""
_NOT_HAN = re.compile("[^\u4e00-\u9fff]+")
_UTF8_LEAD = re.compile(b"[\xc2-\xf4]")
_CP1252_CONTINUATION = (
    "[\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc"
    "\u2013\u2014\u2018-\u201a\u201c-\u201e\u2020-\u2022\u2026\u2030\u2039\u203a"
    "\u20ac\u2122]"
)
"""Characters that bytes 0x80-0xBF become in Latin-1 or cp1252."""
_LATIN1_MOJIBAKE = re.compile(
    f"(?:[\u00c2-\u00df]{_CP1252_CONTINUATION}|[\u00e0-\u00ef]{_CP1252_CONTINUATION}{{2}}"
    f"|[\u00f0-\u00f4]{_CP1252_CONTINUATION}{{3}})+"
)
_LATIN1_MOJIBAKE_START = re.compile(f"[\u00c2-\u00f4]{_CP1252_CONTINUATION}")
"""Where any match of _LATIN1_MOJIBAKE starts: a quick test that a page has none (one
character class first lets the regex engine scan fast)."""
_GBK_RANGES = (
    (0x00A4, 0x00FC),
    (0x0391, 0x0451),
    (0x2010, 0x2642),
    (0x2E80, 0x9FFF),
    (0xE000, 0xFA2D),
    (0xFE30, 0xFE6B),
    (0xFF01, 0xFFE5),
)
"""The code points that GBK bytes decode to outside ASCII, as ranges."""


def _char_class(ranges: Iterable[tuple[int, int]]) -> str:
    """A regex character class of the code point `ranges` (each low, high inclusive)."""
    return "[" + "".join(f"\\u{low:04x}-\\u{high:04x}" for low, high in ranges) + "]"


_GBK_CHARS = re.compile(_char_class(_GBK_RANGES) + "*")
"""A run of the characters that GBK bytes decode to outside ASCII (what mojibake is made
of), however short."""
_CJK_RESULT = re.compile(
    "[\u00b7\u2010-\u2027\u2030-\u203b\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef"
    "\U00020000-\U0003ffff]+"
)


@dataclass(frozen=True)
class DecodedPage:
    """A page's text and how it was obtained."""

    text: str
    """The page as text, BOM removed."""
    encoding: str
    """Python codec name of the encoding used, e.g. "gb18030", "utf-8", "big5hkscs"."""
    declared: Declared
    """Where that encoding came from: "bom", "header", "meta", "site" (the site's charset, for
    a page that declares none), or "none" when detected."""
    replacement_chars: int
    """U+FFFD characters in `text`: bytes that no candidate encoding could decode."""
    repaired: list[str] = field(default_factory=list)
    """What was done beyond decoding with the first declaration, one line each."""

    @cached_property
    def private_use_chars(self) -> int:
        """Private-use characters in `text` (a site's own glyphs, or a wrong encoding),
        counted when asked: a scan of the whole page that decoding itself seldom needs."""
        return _private_use_count(self.text)


@dataclass(frozen=True)
class _Attempt:
    encoding: str
    source: Declared
    text: str
    errors: int

    @cached_property
    def private_use(self) -> int:
        """Private-use characters of `text`; counted only when `clean` or `badness` needs it
        (valid UTF-8 is clean whatever it holds)."""
        return _private_use_count(self.text)

    @property
    def clean(self) -> bool:
        if self.errors:
            return False
        if self.encoding == _UTF8 or self.private_use < PUA_MIN_CHARS:
            # valid UTF-8 is never an accident, so its private-use characters are content
            return True
        return self.private_use <= PUA_MAX_SHARE * _non_ascii_count(self.text)

    @property
    def badness(self) -> int:
        return self.errors + self.private_use


def _attempt(body: bytes, encoding: str, source: Declared) -> _Attempt:
    text = to_unicode(body, encoding)
    errors = text.count("\ufffd")
    if encoding == _UTF8:
        errors -= body.count(_UTF8_REPLACEMENT)
    return _Attempt(encoding, source, text, errors)


def _private_use_count(text: str) -> int:
    return len(_PRIVATE_USE.findall(text))


def _non_ascii_count(text: str) -> int:
    """Characters of `text` outside ASCII."""
    return len(text) - len(text.encode("ascii", "ignore"))


def meta_encoding(body: bytes) -> str | None:
    """The encoding a meta tag or XML declaration of `body` names, as a browser reads it."""
    encoding = html_body_declared_encoding(body)
    if encoding is not None and encoding.startswith(("utf-16", "utf-32")):
        return _UTF8  # a byte-readable declaration cannot be UTF-16 (WHATWG prescan)
    return encoding


def is_utf8_text(body: bytes, min_sequences: int = UTF8_MIN_SEQUENCES) -> bool:
    """True when `body` is valid UTF-8 holding at least `min_sequences` multi-byte ones."""
    try:
        body.decode(_UTF8)
    except UnicodeDecodeError:
        return False
    return len(_UTF8_LEAD.findall(body)) >= min_sequences


def reads_as_chinese(body: bytes, encoding: str) -> bool:
    """True when `body` decodes in `encoding`, but for a few broken bytes, into text whose
    non-ASCII characters are mostly frequent Chinese ones (what an undeclared GBK page
    gives)."""
    text = body.decode(encoding, errors="replace")
    wide = _non_ascii_count(text)
    if text.count("\ufffd") > CHINESE_MAX_BROKEN_SHARE * wide:
        return False
    han = _NOT_HAN.sub("", text)
    return len(han) >= CHINESE_MIN_SHARE * wide > 0 and _mostly_common(han)


def detect_encoding(body: bytes) -> str | None:
    """charset-normalizer's best guess for `body`, as a w3lib-resolved codec name."""
    best = from_bytes(body).best()
    return resolve_encoding(best.encoding) if best is not None else None


def _says_nothing_against(header: str | None, meta: str | None, hint: str) -> bool:
    # A header charset that is a server's Western default says nothing of the page.
    said = {meta, None if header in WESTERN_DEFAULTS else header} - {None}
    return said <= {hint}


def site_charset_counts(body: bytes, content_type: str | None, hint: str | None) -> bool:
    """True when a site's charset `hint` decides how `body` is decoded: the page has no BOM,
    and declares no charset, or only a server's Western default (WESTERN_DEFAULTS) in the
    header, or the hint itself (w3lib reads gb2312 and gbk as gb18030, big5 as big5hkscs)."""
    if hint is None or read_bom(body)[0] is not None:
        return False
    header = http_content_type_encoding(content_type)
    return _says_nothing_against(header, meta_encoding(body), resolve_encoding(hint) or hint)


def _choose(
    body: bytes, header: str | None, meta: str | None, hint: str | None, repaired: list[str]
) -> _Attempt:
    declared: list[tuple[str, Declared]] = []
    if header:
        declared.append((header, "header"))
    if meta and meta != header:
        declared.append((meta, "meta"))
    if header in WESTERN_DEFAULTS and meta in CJK_ENCODINGS:
        declared.reverse()  # a server's default Latin-1 loses to the page's own CJK meta
        repaired.append(f"header charset {header} taken for a server default; meta {meta} used")
    if (
        hint is not None
        and hint not in (header, meta)
        and _says_nothing_against(header, meta, hint)
    ):
        declared.insert(0, (hint, "site"))
        if header:
            repaired.append(f"header charset {header} taken for a server default; site {hint} used")

    if declared and all(enc != _UTF8 for enc, _ in declared) and is_utf8_text(body):
        names = " and ".join(f"{source} {enc}" for enc, source in declared)
        repaired.append(f"{names} overruled: the body is valid UTF-8")
        return _attempt(body, _UTF8, "none")

    attempts: list[_Attempt] = []
    for encoding, source in declared:
        attempt = _attempt(body, encoding, source)
        if attempt.clean:
            if attempts:
                repaired.append(
                    f"{attempts[0].source} charset {attempts[0].encoding} does not decode the"
                    f" body; {source} {encoding} used"
                )
            return attempt
        attempts.append(attempt)

    if not declared and is_utf8_text(body, min_sequences=0):
        return _attempt(body, _UTF8, "none")  # ASCII, or UTF-8: what browsers' sniffers say

    if not declared and hint is None and reads_as_chinese(body, FALLBACK_ENCODINGS[0]):
        # Statistical detection takes GBK pages with a few broken bytes for a single-byte
        # codepage (Cyrillic, Thai) that decodes every byte "cleanly".
        repaired.append(
            f"no charset declared; the text reads as Chinese in {FALLBACK_ENCODINGS[0]}"
        )
        return _attempt(body, FALLBACK_ENCODINGS[0], "none")

    def candidates() -> Iterator[str | None]:
        yield hint
        yield detect_encoding(body)
        yield from FALLBACK_ENCODINGS

    tried = {a.encoding for a in attempts}
    for candidate in candidates():
        if candidate is None or candidate in tried:
            continue
        tried.add(candidate)
        attempt = _attempt(body, candidate, "none")
        if attempt.clean:
            _explain_fallback(attempts, attempt, repaired)
            return attempt
        attempts.append(attempt)

    best = min(attempts, key=lambda a: a.badness)  # min keeps the earliest of equals
    _explain_fallback(attempts, best, repaired)
    return best


def _explain_fallback(attempts: list[_Attempt], chosen: _Attempt, repaired: list[str]) -> None:
    failed = [a for a in attempts if a.source != "none"]
    if any(a is chosen for a in attempts):
        repaired.append(
            f"no encoding decodes the body without loss; {chosen.source} {chosen.encoding} kept"
        )
    elif failed:
        names = ", ".join(f"{a.source} {a.encoding}" for a in failed)
        repaired.append(f"{names} did not decode the body; {chosen.encoding} used")
    else:
        repaired.append(f"no charset declared; {chosen.encoding} detected")


def _latin1_bytes(run: str) -> bytes:
    return b"".join(bytes([ord(ch)]) if ord(ch) < 0x100 else ch.encode("cp1252") for ch in run)


def _has_latin1_letters(text: str) -> bool:
    """True when `text` holds a character of U+00C0-U+00FF (what Latin-1 mojibake starts
    with): their UTF-8 alone holds the byte 0xC3, and encoding a CJK page then searching one
    byte costs a fraction of a regex's scan."""
    return b"\xc3" in text.encode(_UTF8, "surrogatepass")


def repair_latin1_mojibake(text: str) -> tuple[str, int]:
    """Undo UTF-8 text that was read as Latin-1/cp1252 ("å›­åŒº" → "园区"); runs repaired.

    Only whole UTF-8 sequences spelled in Latin-1/cp1252 characters are replaced, and only
    when their bytes decode: ordinary Latin text never forms such sequences, and a sequence
    that lost a byte (U+FFFD after it) stays as it is.
    """
    if not _has_latin1_letters(text) or not _LATIN1_MOJIBAKE_START.search(text):
        return text, 0
    count = 0

    def repair(match: re.Match[str]) -> str:
        nonlocal count
        try:
            fixed = _latin1_bytes(match.group()).decode(_UTF8)
        except (UnicodeDecodeError, UnicodeEncodeError):
            return match.group()
        count += 1
        return fixed

    return _LATIN1_MOJIBAKE.sub(repair, text), count


def _outside_gb2312_share(run: str) -> float:
    """Share of `run` (no ASCII in it) that GB2312 cannot encode."""
    return run.encode("gb2312", "replace").count(b"?") / len(run)


def _is_common_char(ch: str) -> bool:
    """True for characters of GB2312 or of Big5's frequent level (text, not noise)."""
    if ch < "\u2e80":
        return True
    try:
        ch.encode("gb2312")
    except UnicodeEncodeError:
        pass
    else:
        return True
    try:
        return ch.encode("big5")[0] <= 0xC6
    except UnicodeEncodeError:
        return False


def _outside_gb2312_marked(text: str) -> str:
    """`text` with each character that GB2312 cannot encode turned into "?", one for one (a
    round trip through GB2312)."""
    return text.encode("gb2312", "replace").decode("gb2312")


def _mostly_common(text: str) -> bool:
    # Each distinct character is looked at once (a page repeats its characters many times),
    # and GB2312's, common all, are told apart in one round trip.
    counts = Counter(text)
    distinct = "".join(counts)
    marked = _outside_gb2312_marked(distinct)
    rare = sum(
        counts[ch]
        for ch, mark in zip(distinct, marked, strict=True)
        if mark == "?" and not _is_common_char(ch)
    )
    return len(text) - rare >= GBK_MOJIBAKE_MIN_COMMON * len(text)


def _gb18030_offsets(run: str, data: bytes) -> list[int]:
    """Byte offset in `data` (the GB18030 bytes of `run`) where each character starts, and
    the end."""
    if len(data) == 2 * len(run):  # the usual case: all two-byte characters
        return list(range(0, len(data) + 1, 2))
    return [0, *accumulate(len(ch.encode("gb18030")) for ch in run)]


def _utf8_segment_end(data: bytes, offsets: list[int], start: int) -> int:
    """Index of the character that ends the longest segment from character `start` whose
    bytes are whole UTF-8 characters, or `start` when none begins there."""
    first = offsets[start]
    if not (0xC2 <= data[first] <= 0xF4 and 0x80 <= data[first + 1] <= 0xBF):
        return start  # not a UTF-8 lead byte and continuation: genuine text ends here
    try:
        codecs.decode(memoryview(data)[first:], _UTF8)
    except UnicodeDecodeError as exc:
        limit = first + exc.start
    else:
        return len(offsets) - 1
    end = start
    for index in range(start + 1, len(offsets)):
        offset = offsets[index]
        if offset > limit:
            break
        if offset == limit or not 0x80 <= data[offset] <= 0xBF:
            end = index
    return end


def _repair_gbk_run(run: str) -> tuple[str, int]:
    if _outside_gb2312_share(run) < GBK_MOJIBAKE_MIN_EXTENDED:
        return run, 0  # genuine Simplified text ends here
    data = run.encode("gb18030")
    offsets = _gb18030_offsets(run, data)
    pieces: list[str] = []
    count = 0
    kept_from = index = 0
    while index <= len(run) - GBK_MOJIBAKE_MIN_CHARS:
        end = _utf8_segment_end(data, offsets, index)
        whole = index == 0 and end == len(run)
        if end - index >= (GBK_MOJIBAKE_MIN_CHARS if whole else GBK_MOJIBAKE_MIN_SEGMENT):
            segment = run[index:end]
            fixed = data[offsets[index] : offsets[end]].decode(_UTF8)
            if (
                _CJK_RESULT.fullmatch(fixed)
                and _mostly_common(fixed)
                and _outside_gb2312_share(segment) >= GBK_MOJIBAKE_MIN_EXTENDED
            ):
                pieces += [run[kept_from:index], fixed]
                count += 1
                kept_from = index = end
                continue
        index += 1
    pieces.append(run[kept_from:])
    return "".join(pieces), count


def _gbk_run_length(text: str, at: int) -> int:
    """How many characters of the GBK range `text` holds from `at` on."""
    run = _GBK_CHARS.match(text, at)
    return run.end() - at if run else 0


@cache
def _gbk_outside_gb2312() -> re.Pattern[str]:
    """One character of the GBK range (`_GBK_CHARS`) that GB2312 cannot encode: where
    mojibake may be. Built on first use, by one round trip of the range through GB2312."""
    chars = "".join(chr(code) for low, high in _GBK_RANGES for code in range(low, high + 1))
    outside = [
        ord(ch)
        for ch, mark in zip(chars, _outside_gb2312_marked(chars), strict=True)
        if mark == "?"
    ]
    runs: list[list[int]] = []
    for code in outside:
        if runs and runs[-1][1] == code - 1:
            runs[-1][1] = code
        else:
            runs.append([code, code])
    return re.compile(_char_class((low, high) for low, high in runs))


def repair_gbk_mojibake(text: str) -> tuple[str, int]:
    """Undo UTF-8 text that was read as GBK ("鍥尯" → "园区"); segments repaired.

    Within a run of GBK-range characters, a segment of at least GBK_MOJIBAKE_MIN_CHARS
    is replaced only when its GB18030 bytes are whole, valid UTF-8 characters that are
    all CJK and mostly frequent ones (GB2312 or Big5 level 1; GBK_MOJIBAKE_MIN_COMMON),
    and when at least GBK_MOJIBAKE_MIN_EXTENDED of it lies outside GB2312, as
    UTF-8 bytes read as GBK always do. Where the misreading lost a byte (U+FFFD, an odd
    byte count) the characters around the loss stay as they are: nothing is guessed.
    """
    # Only the runs around characters outside GB2312 are read: `_repair_gbk_run` leaves the
    # others as they are. The text reversed gives where a run starts.
    pieces: list[str] = []
    count = kept_from = 0
    backwards: str | None = None
    for outside in _gbk_outside_gb2312().finditer(text):
        at = outside.start()
        if at < kept_from:
            continue
        backwards = text[::-1] if backwards is None else backwards
        start = at - _gbk_run_length(backwards, len(text) - at)
        end = at + _gbk_run_length(text, at)
        if end - start >= GBK_MOJIBAKE_MIN_CHARS:
            fixed, repaired = _repair_gbk_run(text[start:end])
            pieces += [text[kept_from:start], fixed]
            count += repaired
            kept_from = end
    if not pieces:
        return text, 0
    pieces.append(text[kept_from:])
    return "".join(pieces), count


def decode_page(body: bytes, content_type: str | None, *, hint: str | None = None) -> DecodedPage:
    """Decode a page's bytes given its Content-Type header (None when absent) and `hint`,
    the charset its site is known to use (None when unknown).

    Order: a BOM decides alone. Otherwise a body that is valid UTF-8 is UTF-8 whatever a
    legacy declaration or the hint says; else, for a page that declares nothing but a
    server's Western default (`site_charset_counts`), the hint; else the header charset, then
    the meta one (a header that is a server's Latin-1 default goes after a CJK meta), each
    used when it decodes the body without replacement characters and without a run of
    private-use characters; else the hint, charset-normalizer's guess, GB18030 and
    Big5-HKSCS in that order; else whichever attempt lost least. Then certain mojibake is
    repaired.
    """
    repaired: list[str] = []
    header = http_content_type_encoding(content_type)
    meta = meta_encoding(body)
    bom_encoding, bom = read_bom(body)
    if bom_encoding is not None and bom is not None:
        others = {enc for enc in (header, meta) if enc and enc != bom_encoding}
        if others:
            repaired.append(f"BOM {bom_encoding} overrides declared {', '.join(sorted(others))}")
        chosen = _attempt(body[len(bom) :], bom_encoding, "bom")
    else:
        resolved_hint = resolve_encoding(hint) if hint else None
        chosen = _choose(body, header, meta, resolved_hint, repaired)

    text = chosen.text
    text, latin1_runs = repair_latin1_mojibake(text)
    if latin1_runs:
        repaired.append(f"repaired {latin1_runs} runs of UTF-8 read as Latin-1")
    text, gbk_runs = repair_gbk_mojibake(text)
    if gbk_runs:
        repaired.append(f"repaired {gbk_runs} runs of UTF-8 read as GBK")
    return DecodedPage(
        text=text,
        encoding=chosen.encoding,
        declared=chosen.source,
        replacement_chars=text.count("\ufffd"),
        repaired=repaired,
    )


def redecode_reasons(
    text: str,
    body: bytes,
    content_type: str | None,
    *,
    hint: str | None = None,
    encoding: str | None = None,
) -> list[str]:
    """Why Scrapy's decoding `text` of `body` (with `encoding`) needs a second look (empty
    when it does not); `hint` is the charset of the page's site, when it has one.

    Reasons: "replacement" (U+FFFD in the text), "private_use" (private-use characters),
    "header_meta_mismatch", "utf8_body" (a legacy charset declared on a valid UTF-8 body),
    "mojibake" (UTF-8 read as Latin-1 or GBK) and "site_charset" (a page that declares no
    charset of its own was decoded with another than its site's).
    """
    reasons = []
    if (
        hint is not None
        and resolve_encoding(hint) != encoding
        and site_charset_counts(body, content_type, hint)
    ):
        reasons.append("site_charset")
    if "\ufffd" in text:
        reasons.append("replacement")
    if _PRIVATE_USE.search(text):
        reasons.append("private_use")
    if read_bom(body)[0] is None:
        header = http_content_type_encoding(content_type)
        meta = meta_encoding(body)
        if header and meta and header != meta:
            reasons.append("header_meta_mismatch")
        declared = header or meta
        if declared and declared != _UTF8 and is_utf8_text(body):
            reasons.append("utf8_body")
    if repair_latin1_mojibake(text)[1] or repair_gbk_mojibake(text)[1]:
        reasons.append("mojibake")
    return reasons

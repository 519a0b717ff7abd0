"""The house Unicode policy for every text field: entities decoded, markup defused, NFC,
one kind of line break and space, full-width letters and digits made ASCII, line wraps
between Chinese characters dropped."""

from __future__ import annotations

import html
import re
import unicodedata

HAN = (
    "\u2e80-\u2fdf\u3005-\u3007\u3021-\u3029\u3038-\u303b\u3400-\u4dbf\u4e00-\u9fff"
    "\uf900-\ufaff\U00020000-\U0003ffff"
)
"""Han ideographs, radicals and the ideographic iteration and number marks."""

CJK = (
    HAN + "\u3001-\u3004\u3008-\u3020\u3030-\u3037\u3040-\u30ff\uff01-\uff0f\uff1a-\uff20"
    "\uff3b-\uff40\uff5b-\uff65"
)
"""Characters written without spaces between them: Han, kana, CJK and full-width punctuation."""

MAX_ENTITY_ROUNDS = 4

MARKUP_START = re.compile(r"<(?=[A-Za-z/!])")

_LINE_BREAKS = re.compile("\r\n?|[\x0b\x0c\x85\u2028\u2029]")

_INVISIBLE = re.compile(
    "[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e"
    "\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb]+"
)

_WRAP = re.compile("[ \t]*\n[ \t]*")

_CJK_CHAR = re.compile(f"[{CJK}]")

_ODD_SPACES = re.compile("[\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]")

_FULLWIDTH_ALNUM = re.compile("[\uff10-\uff19\uff21-\uff3a\uff41-\uff5a]+")

_FULLWIDTH_ALNUM_UTF8 = re.compile(b"\xef(?:\xbc[\x90-\x99\xa1-\xba]|\xbd[\x81-\x9a])")
"""The same characters in UTF-8: searching bytes is several times faster than text."""

_TO_HALFWIDTH = {code: code - 0xFEE0 for code in range(0xFF10, 0xFF5B)}

_SPACE_RUNS = re.compile(" {2,}")

_SPACED_TAB = re.compile(" *\t *")


def decode_entities(text: str) -> str:
    """Decode HTML character references ("&nbsp;", "&#12288;", "&amp;"), also those a CMS
    escaped twice ("&amp;nbsp;"), until none is left, so decoding again changes nothing."""
    for _ in range(MAX_ENTITY_ROUNDS):
        if "&" not in text:
            break
        decoded = html.unescape(text)
        if decoded == text:
            break
        text = decoded
    return text


def defuse_markup(text: str) -> str:
    """Write "<" before a letter, "/" or "!" as "＜", so text quoting code ("<script>") can
    never be taken for markup by whatever renders a record."""
    return MARKUP_START.sub("＜", text) if "<" in text else text


def compose(text: str) -> str:
    """Unicode NFC, so that "u" + combining macron and "ū" are one character."""
    return text if unicodedata.is_normalized("NFC", text) else unicodedata.normalize("NFC", text)


def unify_line_breaks(text: str) -> str:
    """CR LF, CR, NEL, vertical tab, form feed and the Unicode separators become "\\n"."""
    return _LINE_BREAKS.sub("\n", text)


def is_plain(text: str) -> bool:
    """True when `text` holds no control, format, separator or non-ASCII space character
    other than "\\n" (a quick test that lets clean text skip three steps)."""
    return all(map(str.isprintable, text.split("\n")))


def join_lines(text: str) -> str:
    """Join a single-line field that the HTML source wrapped: a line break (with the blanks
    around it) between two CJK characters disappears, any other becomes a space; tabs
    become spaces."""

    def join(match: re.Match[str]) -> str:
        start, end = match.span()
        if start and _CJK_CHAR.match(text, start - 1) and _CJK_CHAR.match(text, end):
            return ""
        return " "

    if "\n" in text:
        text = _WRAP.sub(join, text)
    return text.replace("\t", " ") if "\t" in text else text


def drop_invisible(text: str) -> str:
    """Remove control characters, zero-width characters, soft hyphens and direction marks."""
    return _INVISIBLE.sub("", text)


def plain_spaces(text: str) -> str:
    """No-break, ideographic and typographic spaces become one plain space each."""
    return _ODD_SPACES.sub(" ", text)


def halfwidth_alnum(text: str) -> str:
    """Full-width ASCII letters and digits become half-width; full-width punctuation stays."""
    if text.isascii() or not _FULLWIDTH_ALNUM_UTF8.search(text.encode("utf-8", "surrogatepass")):
        return text
    return _FULLWIDTH_ALNUM.sub(lambda m: m.group().translate(_TO_HALFWIDTH), text)


def tidy_spaces(text: str) -> str:
    """Collapse runs of spaces, trim every line, drop empty lines and the edges of the text."""
    # One-character searches only: a two-character one costs as much as a regex pass.
    spaced = " " in text
    if spaced and "  " in text:
        text = _SPACE_RUNS.sub(" ", text)
    if spaced and "\t" in text:
        text = _SPACED_TAB.sub("\t", text)
    if "\n" not in text:
        return text.strip(" ") if spaced else text
    lines = text.split("\n")
    if spaced or "" in lines:
        return "\n".join(line for line in (raw.strip(" ") for raw in lines) if line)
    return text


def normalise_unicode(text: str, *, keep_newlines: bool = True) -> str:
    """Apply the parknews Unicode policy to one text field.

    The policy, in order:

    - HTML character references are decoded, also when escaped twice ("&amp;nbsp;"), so that
      the policy applied twice gives the same text ("&nbsp;" → no-break space, "&amp;" → "&").
    - A "<" that would open a tag ("<script", "</p", "<!--") becomes "＜": no text field can
      carry markup.
    - Line breaks (CR LF, CR, NEL, VT, FF, U+2028, U+2029) become "\\n".
    - Removed: C0 and C1 control characters (except "\\n" and tab), zero-width space,
      joiner and non-joiner, word joiner, BOM, soft hyphen, direction marks and embeddings.
    - No-break space, ideographic space (U+3000) and typographic spaces (U+2000–U+200A,
      U+202F, U+205F) become a plain space.
    - Single-line fields (``keep_newlines=False``): a line break left by the HTML source's
      wrapping disappears between two CJK characters (Han, kana, CJK and full-width
      punctuation) and becomes a space elsewhere; tabs become spaces. In the body "\\n"
      separates paragraphs and a tab separates the cells of a table row; both stay.
      A space a page writes between CJK characters stays: headlines separate their
      clauses with one ("冬至将至 园区社区…"), bylines their names ("文/周琳 图/张宇").
    - Full-width ASCII letters and digits become half-width ("２０２１" → "2021").
      Chinese and full-width punctuation (，。“”（）：；) is kept as it is.
    - NFC composition, last, so a mark freed by the steps above composes at once.
    - Runs of spaces collapse to one, spaces beside a tab go; every line is trimmed of
      spaces; empty lines are dropped, so paragraphs stay separated by exactly one "\\n".

    U+FFFD replacement characters are kept: they mark text lost in decoding, and dropping
    them would hide the loss.
    """
    if not text:
        return ""
    text = defuse_markup(decode_entities(text))
    plain = is_plain(text)
    if not plain:
        text = unify_line_breaks(text)
        text = drop_invisible(text)
        text = plain_spaces(text)
    if not keep_newlines:
        text = join_lines(text)
    text = compose(halfwidth_alnum(text))
    return tidy_spaces(text)

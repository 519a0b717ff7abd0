"""Metadata in the text blocks: the meta line and bylines at the head and tail of the article,
the signature date closing it, photo captions, and a repeated title, lifted out of the body
into `LiftedMetadata`.

Metadata is lifted only from the *head* (blocks before the first real paragraph) and the
*tail* (blocks after the last one), so a date line or "来源：" quoted inside the article stays.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum

from crawler.text.bylines import (
    AUTHOR_LABELS,
    BARE_DATE_LABELS,
    CORRESPONDENT_LABELS,
    COUNTER_LABELS,
    EDITOR_LABELS,
    PHOTOGRAPHER_LABELS,
    PUBLISHED_LABELS,
    PUBLISHER_LABELS,
    REGISTER_LABELS,
    REPORTER_LABELS,
    REVIEWER_LABELS,
    SOURCE_LABELS,
    label_word,
    spaced,
)
from crawler.text.dates import PRINTED_DATETIME, iso_of_match, read_date_line
from crawler.text.inline import HEADLINE_DECORATION
from crawler.text.vocabulary import CAPTION_OPENING
from pipelines.blocktext import SENTENCE_END_RE, is_paragraph, normalize_line, repeat_key

FIELD_LINE_MAX_CHARS = 120
"""Longest block read as a meta line or byline."""

TEXT_VALUE_MAX_CHARS = 40
"""Longest value of a free-text field such as 来源 or 作者."""

NAMES_MAX = 8
"""Most person names one byline role may list."""

CAPTION_MAX_CHARS = 120
"""Longest block read as an image caption."""


class _Kind(Enum):
    NAMES = "names"  # person names, checked one by one
    TEXT = "text"  # short free text (an organisation)
    DATETIME = "datetime"  # must parse as a date, or be empty
    IGNORE = "ignore"  # counters and switches whose value carries nothing
    REGISTER = "register"  # a document register's field: any short value, not kept


@dataclass(frozen=True)
class _Label:
    field: str | None
    kind: _Kind
    tail_ok: bool = True  # may be lifted from the tail, not only the head
    colon: bool = True  # must be followed by ":" (or "/" for names)


def _names(field: str | None) -> _Label:
    """A byline role followed by person names; a space after the role is enough."""
    return _Label(field, _Kind.NAMES, colon=False)


# Which label fills which field, as (labels separated by spaces, meaning). 通讯员
# (correspondent) names join the 记者 names in `author`, reporters first: the record has no
# field of its own for them and they share the authorship.
_LABEL_TABLE: tuple[tuple[str, _Label], ...] = (
    (PUBLISHED_LABELS, _Label("published_at", _Kind.DATETIME)),
    # Bare 时间/日期 also open the event details at the end of notices: head only.
    (BARE_DATE_LABELS, _Label("published_at", _Kind.DATETIME, tail_ok=False)),
    (SOURCE_LABELS, _Label("source", _Kind.TEXT)),
    (PUBLISHER_LABELS, _Label(None, _Kind.TEXT)),
    (AUTHOR_LABELS, _Label("author", _Kind.TEXT)),
    (REPORTER_LABELS, _names("author")),
    ("文", _Label("author", _Kind.NAMES, colon=True)),
    (CORRESPONDENT_LABELS, _names("correspondent")),
    (EDITOR_LABELS, _names("editor")),
    (PHOTOGRAPHER_LABELS, _names("photographer")),
    ("图 摄", _Label("photographer", _Kind.NAMES, colon=True)),
    (REVIEWER_LABELS, _names(None)),
    (COUNTER_LABELS, _Label(None, _Kind.IGNORE)),
    (REGISTER_LABELS, _Label(None, _Kind.REGISTER)),
)
"""Which label fills which field. The bare "文：", "图：", "摄：" marks count only here, in a
byline: in a meta line's running value they would end it too early."""

_LABELS = {label: spec for labels, spec in _LABEL_TABLE for label in labels.split()}


def _label_alternative(label: str, spec: _Label) -> str:
    """The regex of one label with what may separate it from its value."""
    if spec.kind is _Kind.NAMES and not spec.colon:
        separator = r"(?:\s*[:/]\s*|\s+|$)"
    elif spec.kind is _Kind.NAMES:
        separator = r"\s*[:/]\s*"
    else:
        separator = r"\s*:\s*"
    return spaced(label) + separator


_BOUNDARY = r"\s|/丨,;()\[\]【】、"

_LABEL_RE = re.compile(
    rf"(?<![^{_BOUNDARY}])(?:"
    + "|".join(
        _label_alternative(label, spec)
        for label, spec in sorted(_LABELS.items(), key=lambda item: -len(item[0]))
    )
    + ")"
)

_LABEL_WORD_RE = re.compile(r"[^\s:/]+")

_VALUE_TRIM = " |丨/,;、[]【】"

_NAME_RE = re.compile(
    r"[\u4e00-\u9fff]{2,4}|[\u4e00-\u9fff]{1,10}·[\u4e00-\u9fff]{1,10}|[A-Za-z][A-Za-z.'-]{1,30}"
)

_NAME_SPLIT_RE = re.compile(r"[\s、,;]+")

_IGNORED_VALUE_RE = re.compile(r"[\d,\s大中小默认标准特大放大缩小A+\-T次|]{0,20}")

_ENCLOSED_RE = re.compile(r"[(\[【](.*)[)\]】]")


@dataclass(frozen=True)
class FieldLine:
    """A meta line or byline read field by field; `values` pairs a field with its value."""

    values: tuple[tuple[str, str], ...]
    tail_ok: bool


def parse_field_line(block: str) -> FieldLine | None:
    """Read a block made only of "label: value" fields ("时间: … |来源: …", "编辑 X 摄影 Y")."""
    text = normalize_line(block)
    if not text or len(text) > FIELD_LINE_MAX_CHARS:
        return None
    enclosed = _ENCLOSED_RE.fullmatch(text)
    if enclosed:
        text = enclosed.group(1).strip()
    values: list[tuple[str, str]] = []
    tail_ok = True
    start = 0
    leading = PRINTED_DATETIME.match(text)
    if leading:  # "2024-03-15 10:20 来源：…" carries its date without a label
        iso = iso_of_match(leading)
        if iso is None:
            return None
        values.append(("published_at", iso))
        start = leading.end()
        while start < len(text) and text[start] in _VALUE_TRIM:
            start += 1
    matches = list(_LABEL_RE.finditer(text, start))
    if not matches or matches[0].start() != start:
        return None
    for index, match in enumerate(matches):
        end = matches[index + 1].start() if index + 1 < len(matches) else len(text)
        label_match = _LABEL_WORD_RE.match(label_word(match.group()))
        assert label_match is not None  # every alternative starts with a label word
        spec = _LABELS[label_match.group()]
        value = text[match.end() : end].strip(_VALUE_TRIM)
        parsed = _read_value(spec, value, has_colon=":" in match.group() or "/" in match.group())
        if parsed is None:
            return None
        tail_ok = tail_ok and spec.tail_ok
        if spec.field is not None and parsed:
            values.extend((spec.field, item) for item in parsed)
    return FieldLine(tuple(values), tail_ok)


def _read_value(spec: _Label, value: str, *, has_colon: bool) -> list[str] | None:
    """The value's items when it fits the label's kind ([] for an empty value), else None."""
    if spec.kind is _Kind.IGNORE:
        return [] if _IGNORED_VALUE_RE.fullmatch(value) else None
    if not value:
        return [] if has_colon else None
    if spec.kind is _Kind.DATETIME:
        iso = read_date_line(value)
        return [iso] if iso else None
    if spec.kind is _Kind.TEXT:
        too_long = len(value) > TEXT_VALUE_MAX_CHARS
        return None if too_long or SENTENCE_END_RE.search(value) else [value]
    if spec.kind is _Kind.REGISTER:
        return None if SENTENCE_END_RE.search(value) else []
    names = [name for name in _NAME_SPLIT_RE.split(value) if name]
    if len(names) > NAMES_MAX or not all(_NAME_RE.fullmatch(name) for name in names):
        return None
    return names


# Bylines inside the first or last paragraph: "本报讯（记者 张三 通讯员 李四）3月15日…",
# "…参加会议。（记者 张三）".
_LEADING_BYLINE_RE = re.compile(
    r"\s*(?:[^\s（(，,。]{0,14}[讯电])?\s*[（(]([^（()）]{1,60})[)）]\s*"
)

_TRAILING_BYLINE_RE = re.compile(r"\s*[（(]([^（()）]{1,60})[)）]\s*$")


def is_caption(block: str) -> bool:
    """True for a short block that describes a photo ("图为会议现场。", "▲园区夜景")."""
    text = normalize_line(block)
    return len(text) <= CAPTION_MAX_CHARS and CAPTION_OPENING.match(text) is not None


@dataclass(frozen=True)
class LiftedMetadata:
    """Metadata taken out of the text blocks; None where the page does not say."""

    published_at: str | None = None
    """"2024-03-15T17:57:00+08:00" when a time was given, else "2024-03-15"."""
    source: str | None = None
    """The 来源 organisation; an empty 来源 field is None."""
    author: str | None = None
    """Reporters then correspondents (记者, 作者, 文/, then 通讯员), joined by "、"."""
    editor: str | None = None
    """编辑 / 责任编辑 names joined by "、"."""
    photographer: str | None = None
    """摄影 / 图/ names joined by "、"."""
    signature_date: str | None = None
    """The date line closing the article ("2024年3月15日"), ISO date."""
    title: str | None = None
    """The block right above the head's first meta line or byline, when there is one."""
    captions: tuple[str, ...] = ()
    """Photo captions found between the blocks, in page order, as the page wrote them."""


@dataclass
class _Collected:
    published_head: list[str] = field(default_factory=list)
    published_tail: list[str] = field(default_factory=list)
    fields: dict[str, list[str]] = field(default_factory=dict)
    signature_date: str | None = None
    captions: list[str] = field(default_factory=list)

    def add(self, line: FieldLine, *, in_head: bool) -> None:
        for name, value in line.values:
            if name == "published_at":
                (self.published_head if in_head else self.published_tail).append(value)
            elif value not in self.fields.setdefault(name, []):
                self.fields[name].append(value)

    def joined(self, *names: str) -> str | None:
        values = [value for name in names for value in self.fields.get(name, [])]
        return "、".join(dict.fromkeys(values)) or None


def lift_metadata(blocks: list[str]) -> tuple[list[str], LiftedMetadata]:
    """Move the meta line, bylines, signature date and captions out of the head and tail."""
    paragraphs = [
        index for index, block in enumerate(blocks) if is_paragraph(block) and not is_caption(block)
    ]
    head_end = paragraphs[0] if paragraphs else len(blocks)
    tail_start = paragraphs[-1] + 1 if paragraphs else 0
    collected = _Collected()
    lifted: set[int] = set()
    first_head_lift: int | None = None
    # A photo story told in captions alone keeps them as its text.
    lift_captions = bool(paragraphs)
    for index, block in enumerate(blocks):
        in_head, in_tail = index < head_end, index >= tail_start
        if lift_captions and is_caption(block):
            collected.captions.append(block)
            lifted.add(index)
            continue
        if not (in_head or in_tail):
            continue
        line = parse_field_line(block)
        date = read_date_line(normalize_line(block)) if line is None else None
        if line is not None and (in_head or line.tail_ok):
            collected.add(line, in_head=in_head)
        elif date is not None and in_head:
            collected.published_head.append(date)
        elif date is not None:
            collected.signature_date = date
        else:
            continue
        lifted.add(index)
        if in_head and first_head_lift is None:
            first_head_lift = index
    title = None
    if first_head_lift:  # what sits above the head's meta line is the title group
        above = [index for index in range(first_head_lift) if index not in lifted]
        title = blocks[above[-1]] if above else None
        lifted.update(range(first_head_lift))
    body = [block for index, block in enumerate(blocks) if index not in lifted]
    body = _lift_inline_bylines(body, collected)
    published = collected.published_head + collected.published_tail
    signature = collected.signature_date
    metadata = LiftedMetadata(
        published_at=published[0] if published else signature,
        source=collected.joined("source"),
        author=collected.joined("author", "correspondent"),
        editor=collected.joined("editor"),
        photographer=collected.joined("photographer"),
        signature_date=signature,
        title=title,
        captions=tuple(collected.captions),
    )
    return body, metadata


def _lift_inline_bylines(blocks: list[str], collected: _Collected) -> list[str]:
    """Cut a byline in parentheses off the start of the first or end of the last paragraph."""
    paragraphs = [index for index, block in enumerate(blocks) if is_paragraph(block)]
    if not paragraphs:
        return blocks
    blocks = list(blocks)
    first, last = paragraphs[0], paragraphs[-1]
    blocks[first] = _cut_byline(blocks[first], _LEADING_BYLINE_RE.match(blocks[first]), collected)
    blocks[last] = _cut_byline(blocks[last], _TRAILING_BYLINE_RE.search(blocks[last]), collected)
    return [block for block in blocks if block]


def _cut_byline(block: str, match: re.Match[str] | None, collected: _Collected) -> str:
    """`block` without the matched parenthesis when that holds a byline, else unchanged."""
    line = parse_field_line(match.group(1)) if match else None
    if match is None or line is None or not line.values:
        return block
    collected.add(line, in_head=match.start() == 0)
    return (block[: match.start()] + block[match.end() :]).strip()


def drop_title(blocks: list[str], title: str) -> list[str]:
    """Drop blocks before the first paragraph that repeat the known `title`, whole (its
    decoration aside: "标题- -") or broken over two lines (a long headline with a <br> before
    its document number)."""
    key = repeat_key(title)
    head = 0

    def undecorated(block: str) -> str:
        return repeat_key(HEADLINE_DECORATION.sub("", block))

    while head < len(blocks) and not is_paragraph(blocks[head]):
        head += 1
    dropped: set[int] = set()
    for index in range(head if key else 0):
        if undecorated(blocks[index]) == key:
            dropped.add(index)
        elif index + 1 < head and repeat_key(blocks[index] + blocks[index + 1]) == key:
            dropped.update((index, index + 1))
    return [block for index, block in enumerate(blocks) if index not in dropped]

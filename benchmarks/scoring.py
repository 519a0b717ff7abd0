"""Scores of one extraction against its golden record, and their means over many pages.

Every extractor is scored by the same functions:

- **Body precision / recall / F1** are bag-of-characters scores over non-whitespace
  characters. Both texts are reduced to multisets of their characters (`str.isspace()`
  characters, which include U+3000 and NBSP, are dropped); the overlap is the sum over
  characters of the smaller of the two counts. Precision is overlap / output characters,
  recall is overlap / expected characters, F1 their harmonic mean. An empty output scores 0
  on all three against a non-empty expected body, a non-empty output against an empty one
  has precision 0 and recall 1, and two empty bodies score 1. Order and
  paragraph breaks do not count, so a body that is right but laid out differently loses
  nothing, while boilerplate costs precision and missing paragraphs cost recall.
- **Script.** Bodies and titles are compared in Simplified script: both sides are
  converted as parknews' normalisation converts a record (`ScriptConverter`, OpenCC tw2s).
  parknews writes Simplified by design while an expected body may keep a page's Traditional
  text; the conversion leaves Simplified text as it is, so only Traditional pages score
  differently, and every extractor alike.
- **Title** matches when both titles are equal after whitespace normalisation (runs of
  Unicode whitespace become one space, ends trimmed).
- **Date** matches when the calendar days (YYYY-MM-DD) are equal; the **timestamp** also
  matches when the times of day are equal too, or neither side has one. Zone designators
  are ignored: every site publishes in China Standard Time.
- **Leaked boilerplate lines** are output lines holding one of `BOILERPLATE_MARKERS` whose
  text (whitespace removed) does not occur in the expected body, so an article sentence that
  mentions "联系我们" is not a leak while a "联系我们 | 网站地图" footer line is.
- **Repeated paragraphs** are distinct output lines of at least `MIN_REPEAT_CHARS`
  non-whitespace characters that occur more than once, unless the expected body repeats
  them too.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from statistics import fmean

from pipelines.normalise.script import ScriptConverter

MIN_REPEAT_CHARS = 15

# Page furniture that must never reach a body. Traditional forms are listed beside the
# Simplified ones because mirror sites serve Traditional pages to extractors that keep them.
BOILERPLATE_MARKERS: tuple[str, ...] = (
    # breadcrumbs and navigation
    "当前位置",
    "當前位置",
    "返回首页",
    "返回首頁",
    "返回管委会首页",
    "返回管委會首頁",
    # language and accessibility switchers
    "繁體",
    "English",
    "无障碍",
    "無障礙",
    "关怀版",
    "關懷版",
    # the meta line's widgets
    "字号",
    "字號",
    "浏览量",
    "瀏覽量",
    "浏览次数",
    "瀏覽次數",
    # share, print and close links
    "分享到",
    "打印此页",
    "打印此頁",
    "打印本页",
    "打印本頁",
    "关闭窗口",
    "關閉窗口",
    # neighbours and related links
    "上一篇",
    "下一篇",
    "上一条",
    "上一條",
    "下一条",
    "下一條",
    "相关链接",
    "相關鏈接",
    "相关阅读",
    "相關閱讀",
    "扫一扫在手机打开当前页",
    "掃一掃在手機打開當前頁",
    # footers
    "主办单位",
    "主辦單位",
    "承办",
    "承辦",
    "版权所有",
    "版權所有",
    "ICP备",
    "ICP備",
    "网站标识码",
    "網站標識碼",
    "公网安备",
    "公網安備",
    "联系我们",
    "聯繫我們",
    "联系我們",
    "网站地图",
    "網站地圖",
    # unfilled widgets, disclaimers, advertising
    "信息标题",
    "信息標題",
    "免责声明",
    "免責聲明",
    "广告",
    "廣告",
)
_MARKER_PATTERN = re.compile("|".join(re.escape(m) for m in BOILERPLATE_MARKERS))
_SPACE = re.compile(r"\s+")
_TIMESTAMP = re.compile(
    r"(?P<y>\d{4})\s*[-/.年]\s*(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})\s*日?"
    r"(?:(?:T|\s)*(?P<H>\d{1,2})\s*[:时]\s*(?P<M>\d{1,2})(?:\s*[:分]\s*(?P<S>\d{1,2}))?)?"
)


@dataclass(frozen=True)
class Extracted:
    """The fields an extractor gave for one page (None where it gave none)."""

    title: str | None
    published_at: str | None
    body: str


@dataclass(frozen=True)
class BodyScore:
    """Bag-of-characters precision, recall and F1 of a body against the expected one."""

    precision: float
    recall: float
    f1: float


@dataclass(frozen=True)
class Timestamp:
    """A publication time read from any common notation: the day, and the time if given."""

    day: str
    """"YYYY-MM-DD"."""
    time: str | None
    """"HH:MM:SS", or None when only the day is known."""


@dataclass(frozen=True)
class PageScore:
    """Everything scored about one extractor on one page."""

    failed: bool
    body: BodyScore
    title_match: bool
    date_match: bool
    timestamp_match: bool
    leaked_lines: tuple[str, ...] = ()
    repeated: tuple[str, ...] = ()


@dataclass(frozen=True)
class Summary:
    """Means and totals of page scores for one extractor."""

    pages: int
    failed: int
    precision: float
    recall: float
    f1: float
    title_rate: float
    date_rate: float
    timestamp_rate: float
    leaked_lines: int
    leak_pages: int
    repeated: int
    repeat_pages: int
    examples: list[str] = field(default_factory=list)


def normalise_space(text: str) -> str:
    """Runs of whitespace as one space, ends trimmed."""
    return _SPACE.sub(" ", text).strip()


def squeeze(text: str) -> str:
    """The text with every whitespace character removed."""
    return "".join(ch for ch in text if not ch.isspace())


@cache
def _converter() -> ScriptConverter:
    return ScriptConverter()


def in_simplified(text: str) -> str:
    """`text` in Simplified script, converted as parknews' normalisation converts records
    (`ScriptConverter`, OpenCC tw2s); Simplified text stays as it is."""
    return _converter().convert(text)


def char_bag(text: str) -> Counter[str]:
    """The multiset of the non-whitespace characters of `text` in Simplified script."""
    return Counter(squeeze(in_simplified(text)))


def body_score(output: str, expected: str) -> BodyScore:
    """Bag-of-characters precision, recall and F1 of `output` against `expected`."""
    got, want = char_bag(output), char_bag(expected)
    got_total, want_total = got.total(), want.total()
    if got_total == 0 and want_total == 0:
        return BodyScore(1.0, 1.0, 1.0)
    if got_total == 0 or want_total == 0:
        return BodyScore(0.0, 0.0 if got_total == 0 else 1.0, 0.0)
    overlap = (got & want).total()
    precision, recall = overlap / got_total, overlap / want_total
    f1 = 2 * precision * recall / (precision + recall) if overlap else 0.0
    return BodyScore(precision, recall, f1)


def title_matches(found: str | None, expected: str | None) -> bool:
    """Whether two titles are equal after whitespace normalisation, in Simplified script
    (None counts as empty)."""
    return normalise_space(in_simplified(found or "")) == normalise_space(
        in_simplified(expected or "")
    )


def parse_timestamp(text: str | None) -> Timestamp | None:
    """The first valid date (with its time of day, if any) in `text`."""
    if not text:
        return None
    for match in _TIMESTAMP.finditer(text):
        try:
            day = datetime(int(match["y"]), int(match["m"]), int(match["d"]))
            if match["H"] is None:
                return Timestamp(day.date().isoformat(), None)
            moment = day.replace(
                hour=int(match["H"]), minute=int(match["M"]), second=int(match["S"] or 0)
            )
        except ValueError:
            continue
        return Timestamp(moment.date().isoformat(), moment.strftime("%H:%M:%S"))
    return None


def date_matches(found: str | None, expected: str | None) -> tuple[bool, bool]:
    """(same day, same full timestamp) of a found publication time against the expected one."""
    got, want = parse_timestamp(found), parse_timestamp(expected)
    if want is None:
        return got is None, got is None
    if got is None or got.day != want.day:
        return False, False
    return True, got.time == want.time


def leaked_boilerplate(output: str, expected: str) -> list[str]:
    """Output lines holding a boilerplate marker whose text is not part of the expected body."""
    expected_text = squeeze(expected)
    leaks = []
    for line in output.split("\n"):
        text = squeeze(line)
        if text and _MARKER_PATTERN.search(line) and text not in expected_text:
            leaks.append(normalise_space(line))
    return leaks


def paragraph_counts(text: str, min_chars: int = MIN_REPEAT_CHARS) -> Counter[str]:
    """How often each line of at least `min_chars` non-whitespace characters occurs."""
    lines = (normalise_space(line) for line in text.split("\n"))
    return Counter(line for line in lines if len(squeeze(line)) >= min_chars)


def repeated_paragraphs(
    output: str, expected: str = "", min_chars: int = MIN_REPEAT_CHARS
) -> list[str]:
    """Distinct long paragraphs the output repeats more often than the expected body does."""
    got, want = paragraph_counts(output, min_chars), paragraph_counts(expected, min_chars)
    return [line for line, count in got.items() if count > max(1, want[line])]


FAILED_BODY = BodyScore(0.0, 0.0, 0.0)


def score_page(found: Extracted | None, expected: Extracted) -> PageScore:
    """Score one extraction (None when the extractor failed on the page) against the truth."""
    if found is None:
        return PageScore(
            failed=True,
            body=FAILED_BODY,
            title_match=False,
            date_match=False,
            timestamp_match=False,
        )
    day, stamp = date_matches(found.published_at, expected.published_at)
    return PageScore(
        failed=False,
        body=body_score(found.body, expected.body),
        title_match=title_matches(found.title, expected.title),
        date_match=day,
        timestamp_match=stamp,
        leaked_lines=tuple(leaked_boilerplate(found.body, expected.body)),
        repeated=tuple(repeated_paragraphs(found.body, expected.body)),
    )


def _mean(values: Iterable[float]) -> float:
    items = list(values)
    return fmean(items) if items else 0.0


def summarise(scores: Sequence[PageScore], max_examples: int = 5) -> Summary:
    """Means over pages (a failed page scores 0 everywhere) and totals of leaks and repeats."""
    leaks = [line for s in scores for line in s.leaked_lines]
    return Summary(
        pages=len(scores),
        failed=sum(s.failed for s in scores),
        precision=_mean(s.body.precision for s in scores),
        recall=_mean(s.body.recall for s in scores),
        f1=_mean(s.body.f1 for s in scores),
        title_rate=_mean(float(s.title_match) for s in scores),
        date_rate=_mean(float(s.date_match) for s in scores),
        timestamp_rate=_mean(float(s.timestamp_match) for s in scores),
        leaked_lines=len(leaks),
        leak_pages=sum(bool(s.leaked_lines) for s in scores),
        repeated=sum(len(s.repeated) for s in scores),
        repeat_pages=sum(bool(s.repeated) for s in scores),
        examples=[line for line, _ in Counter(leaks).most_common(max_examples)],
    )

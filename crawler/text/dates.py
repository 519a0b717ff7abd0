"""Dates: the one grammar for dates as Chinese pages print them, and the UTC stamps parknews
writes.

Pages print "2024-03-15 17:57", "2024年3月15日 星期五 10时30分", "二〇二四年三月十五日",
"2024/5/6"; machines write ISO 8601 stamps with offsets. `find_datetime` reads the first date
anywhere in a text (a meta tag, a meta line, a list row); `read_date_line` reads a text that
is nothing but a date (a signature line closing an article). Both give "YYYY-MM-DD", or
"YYYY-MM-DDTHH:MM:SS+08:00" when a time of day is printed: a printed time is China time and
is never shifted.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone

CHINA_TIME = timezone(timedelta(hours=8))
CHINA_OFFSET = "+08:00"
DATE_ONLY_LENGTH = len("2024-03-15")
EARLIEST_YEAR = 1990
"""Years before this are not publication dates of a web page (a "1985年" in a line is history)."""
LATEST_YEAR = 2100
UTC_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
"""How parknews writes times: fetched_at, updated_at, and every time in the state database."""

_NUMERIC_DATE = r"(?P<y>(?:19|20)\d{2})\s*[-/.年]\s*(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})\s*日?"
_CHINESE_DATE = (
    r"(?P<cy>[〇零○O0一二三四五六七八九]{4})\s*年\s*(?P<cm>[一二三四五六七八九十]{1,2})\s*月"
    r"\s*(?P<cd>[一二三四五六七八九十]{1,3})\s*日"
)
_MONTH_NAMES = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_ENGLISH_MONTH = (
    r"(?<![a-z])(?P<em>january|february|march|april|may|june|july|august|september|october"
    r"|november|december|jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec)\.?(?![a-z])"
)
_ENGLISH_DATE = (
    rf"(?i:{_ENGLISH_MONTH}\s+(?P<ed>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<ey>(?:19|20)\d{{2}}))"
)
_US_DATE = r"(?P<um>\d{1,2})/(?P<ud>\d{1,2})/(?P<uy>(?:19|20)\d{2})(?!\d)"
"""Month/day/year, as sites on US-configured servers print it ("7/5/2005 9:23:57 PM")."""
_TIME = (
    r"(?P<H>\d{1,2})\s*[:：时]\s*(?P<M>\d{1,2})"
    r"(?:\s*[:：分]\s*(?P<S>\d{1,2})\s*秒?|\s*分)?"
    r"(?:\s*(?P<ampm>(?i:[ap]\.?m\.?)(?![a-z])))?"
)
_WEEKDAY = r"(?:(?:星期|周)[一二三四五六日天]|(?i:(?:mon|tues|wednes|thurs|fri|satur|sun)day),?)"

PRINTED_DATETIME = re.compile(
    rf"(?:{_WEEKDAY}\s*)?(?:{_NUMERIC_DATE}|{_CHINESE_DATE}|{_ENGLISH_DATE}|{_US_DATE})"
    rf"(?:\s*{_WEEKDAY})?(?:\s*{_TIME})?(?:\s*{_WEEKDAY})?"
)
"""A date as pages print it ("2024-03-15", "2024年3月15日", "二〇二四年三月十五日",
"September 10th, 2005", "7/5/2005"), with an optional weekday and time of day (24-hour, or
12-hour with AM/PM)."""
_DATE_LINE = re.compile(rf"[(\[（【]?\s*{PRINTED_DATETIME.pattern}\s*[)\]）】]?")
ISO_DATETIME = re.compile(
    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?"
)
"""An ISO 8601 stamp as machines write it (meta tags, JSON-LD, `<time datetime>`)."""

_CHINESE_DIGITS = {c: i for i, c in enumerate("〇一二三四五六七八九")}
_CHINESE_DIGITS.update({"零": 0, "○": 0, "O": 0, "0": 0})


def _chinese_number(text: str) -> int:
    """Value of a Chinese numeral below 100 ("五", "十五", "二十", "三十一")."""
    tens, ten, ones = text.partition("十")
    if (not ten and len(text) != 1) or len(tens) > 1 or len(ones) > 1 or "十" in ones:
        raise ValueError(f"not a Chinese number below 100: {text!r}")
    if not ten:
        return _CHINESE_DIGITS[text]
    return (_CHINESE_DIGITS[tens] if tens else 1) * 10 + (_CHINESE_DIGITS[ones] if ones else 0)


def _day_of_match(match: re.Match[str]) -> tuple[int, int, int]:
    """(year, month, day) of a PRINTED_DATETIME match, whichever form it took."""
    if match["y"]:
        return int(match["y"]), int(match["m"]), int(match["d"])
    if match["cy"]:
        year = int("".join(str(_CHINESE_DIGITS[c]) for c in match["cy"]))
        return year, _chinese_number(match["cm"]), _chinese_number(match["cd"])
    if match["ey"]:
        month = next(
            (
                n
                for n, name in enumerate(_MONTH_NAMES, 1)
                if name.startswith(match["em"].lower()[:3])
            ),
            0,
        )
        return int(match["ey"]), month, int(match["ed"])
    month, day = int(match["um"]), int(match["ud"])
    if month > 12 >= day:  # day/month/year after all
        month, day = day, month
    return int(match["uy"]), month, day


def iso_of_match(match: re.Match[str]) -> str | None:
    """A match of PRINTED_DATETIME as "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM:SS+08:00"; None when
    it names no real day or time."""
    try:
        year, month, day = _day_of_match(match)
        found = date(year, month, day)
        if not EARLIEST_YEAR <= year <= LATEST_YEAR:
            return None
        if match["H"] is None:
            return found.isoformat()
        hour = int(match["H"])
        if match["ampm"]:
            if not 1 <= hour <= 12:
                return None
            hour = hour % 12 + (12 if match["ampm"].lower().startswith("p") else 0)
        clock = time(hour, int(match["M"]), int(match["S"] or 0))
    except ValueError:
        return None
    return f"{found.isoformat()}T{clock.isoformat()}{CHINA_OFFSET}"


def _from_iso_stamp(text: str) -> str | None:
    """The first ISO 8601 stamp in `text` at +08:00 (stamps with another offset are moved to
    China time, stamps without one are taken as China time)."""
    stamp = ISO_DATETIME.search(text)
    if stamp is None:
        return None
    try:
        moment = datetime.fromisoformat(stamp[0].replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(CHINA_TIME).replace(tzinfo=None)
    return moment.replace(microsecond=0).isoformat() + CHINA_OFFSET


def find_datetime(text: str) -> str | None:
    """The first date in `text`: an ISO 8601 stamp, else the first printed date."""
    stamped = _from_iso_stamp(text)
    if stamped is not None:
        return stamped
    match = PRINTED_DATETIME.search(text)
    return iso_of_match(match) if match else None


def read_date_line(text: str) -> str | None:
    """The date of a text that is a printed date and nothing else, brackets allowed
    ("2024年3月15日", "(2024-03-15)"); None for any other text."""
    match = _DATE_LINE.fullmatch(text.strip())
    return iso_of_match(match) if match else None


def most_precise(*candidates: str | None) -> str | None:
    """The first date found, completed with a time of day from a later one of the same day."""
    found = [c for c in candidates if c]
    if not found:
        return None
    first = found[0]
    if len(first) == DATE_ONLY_LENGTH:
        for later in found[1:]:
            if len(later) > DATE_ONLY_LENGTH and later.startswith(first):
                return later
    return first


def utc_now() -> str:
    """The current UTC time as "2026-11-25T12:00:00Z"."""
    return datetime.now(timezone.utc).strftime(UTC_FORMAT)


def parse_utc(text: str) -> datetime:
    """A time written by `utc_now` as an aware datetime."""
    return datetime.strptime(text, UTC_FORMAT).replace(tzinfo=timezone.utc)

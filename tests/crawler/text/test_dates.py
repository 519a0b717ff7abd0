"""The one date grammar: dates found in lines, lines that are only a date, and the UTC stamps."""

from __future__ import annotations

import re
from datetime import timezone

import pytest

from crawler.text.dates import find_datetime, most_precise, parse_utc, read_date_line, utc_now


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("时间: 2024-03-15 17:57 |来源:", "2024-03-15T17:57:00+08:00"),
        ("发布日期：2021-04-29 09:12:30", "2021-04-29T09:12:30+08:00"),
        ("2024年3月15日", "2024-03-15"),
        ("2024年05月20日 10时30分", "2024-05-20T10:30:00+08:00"),
        ("2024年3月15日 星期五 10:30", "2024-03-15T10:30:00+08:00"),
        ("发布时间：二〇二四年三月十五日", "2024-03-15"),
        ("2024/5/6", "2024-05-06"),
        ("2024.11.02 08:05", "2024-11-02T08:05:00+08:00"),
        ("2024-02-30", None),
        ("2024-06-12T01:30:00+00:00", "2024-06-12T09:30:00+08:00"),
        ("2024-06-11T20:00:00Z", "2024-06-12T04:00:00+08:00"),
        ("2024-06-12T09:30:00+08:00", "2024-06-12T09:30:00+08:00"),
        ("2024-06-12T09:30:00", "2024-06-12T09:30:00+08:00"),
        ("no date here", None),
    ],
)
def test_find_datetime(text: str, iso: str | None) -> None:
    assert find_datetime(text) == iso


@pytest.mark.parametrize(
    ("line", "iso"),
    [
        ("2024年3月15日", "2024-03-15"),
        ("2024年03月15日", "2024-03-15"),
        ("二〇二四年三月十五日", "2024-03-15"),
        ("二〇二四年十二月三十一日", "2024-12-31"),
        ("（2024-03-15）", "2024-03-15"),
        ("[2007-08-20]", "2007-08-20"),
        ("2024.3.15", "2024-03-15"),
        ("2024-03-15 17:57", "2024-03-15T17:57:00+08:00"),
        ("2024年3月15日 星期五", "2024-03-15"),
        ("2024年2月30日", None),
        ("2024年3月15日，园区召开会议。", None),
        ("3月15日", None),
        ("1800年1月1日", None),
        ("二〇二四年一二月五日", None),
        ("二〇二四年三月二十十日", None),
    ],
)
def test_read_date_line(line: str, iso: str | None) -> None:
    assert read_date_line(line) == iso


@pytest.mark.parametrize(
    ("candidates", "chosen"),
    [
        (("2024-06-12", "2024-06-12T09:30:00+08:00"), "2024-06-12T09:30:00+08:00"),
        (("2024-06-12", "2024-06-13T09:30:00+08:00"), "2024-06-12"),
        ((None, "2024-06-12"), "2024-06-12"),
        ((None, None), None),
    ],
)
def test_most_precise_completes_a_date_with_its_time(
    candidates: tuple[str | None, ...], chosen: str | None
) -> None:
    assert most_precise(*candidates) == chosen


def test_utc_stamps_round_trip() -> None:
    now = utc_now()
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", now)
    moment = parse_utc(now)
    assert moment.tzinfo is timezone.utc
    assert moment.strftime("%Y-%m-%dT%H:%M:%SZ") == now

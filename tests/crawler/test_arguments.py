"""Spider arguments: a replay archive is read through when the argument is read, and one that
cannot be replayed in full is refused in one line naming the file and what is wrong."""

from __future__ import annotations

import gzip
import io
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from crawler.arguments import ArgumentError, parse_arguments
from crawler.middlewares.replay import DEMO_ARCHIVE
from crawler.sites import SITES

DEMO = DEMO_ARCHIVE.read_bytes()


def record_offsets(archive: bytes) -> list[int]:
    """Where each record of an archive starts."""
    records = ArchiveIterator(io.BytesIO(archive))
    return [records.get_record_offset() for _ in records]


def demo_requests_only() -> bytes:
    """The demo's request records alone: a whole archive that answers nothing."""
    starts = [*record_offsets(DEMO), len(DEMO)]
    kinds = [record.rec_type for record in ArchiveIterator(io.BytesIO(DEMO))]
    return b"".join(
        DEMO[start:end]
        for kind, start, end in zip(kinds, starts, starts[1:], strict=False)
        if kind == "request"
    )


def demo_cut_after_warc_headers(extra: int) -> bytes:
    """The uncompressed demo, cut `extra` bytes after the WARC headers of its third record
    (at 0, warcio takes the missing HTTP headers for the end of the file)."""
    plain = gzip.decompress(DEMO)
    third = record_offsets(plain)[2]
    return plain[: plain.index(b"\r\n\r\n", third) + 4 + extra]


BAD_ARCHIVES: dict[str, tuple[Callable[[], bytes], str]] = {
    "empty": (lambda: b"", "is empty"),
    "plain text": (lambda: b"hello\nworld\n", "is not a WARC file"),
    "gzip of text": (lambda: gzip.compress(b"hello\nworld\n"), "is not a WARC file"),
    "cut to 1,000 bytes": (lambda: DEMO[:1000], "is damaged: record 3 (at byte 887)"),
    "cut in its last record": (lambda: DEMO[:-100], "is damaged: record 214"),
    "cut before its HTTP headers": (
        lambda: demo_cut_after_warc_headers(0),
        "is damaged: record 3 (at byte 1242) cannot be read",
    ),
    "cut in its HTTP headers": (
        lambda: demo_cut_after_warc_headers(10),
        "is damaged: record 3 (a response of http://www.wehdz.gov.cn/robots.txt, at byte 1242) "
        "is cut short, 10 of 175 bytes",
    ),
    "one gzip stream": (
        lambda: gzip.compress(gzip.decompress(DEMO)),
        "is gzipped as one stream, not record by record",
    ),
    "requests only": (demo_requests_only, "holds no response records"),
}


@pytest.mark.parametrize("case", sorted(BAD_ARCHIVES))
def test_an_archive_that_cannot_be_replayed_is_refused_in_one_line(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make, problem = BAD_ARCHIVES[case]
    archive = tmp_path / "recorded.warc.gz"
    archive.write_bytes(make())
    with pytest.raises(ArgumentError) as raised:
        parse_arguments({"replay": str(archive)}, SITES)
    message = str(raised.value)
    assert message.startswith(f"replay archive {archive} ")
    assert problem in message
    assert "\n" not in message
    assert capsys.readouterr().err == ""


def test_the_records_before_the_damage_are_the_way_out(tmp_path: Path) -> None:
    """The message of a damaged archive says how many of its first bytes make a whole one."""
    archive = tmp_path / "killed.warc.gz"
    archive.write_bytes(DEMO[:-100])
    with pytest.raises(ArgumentError, match=r"head -c (\d+) ") as raised:
        parse_arguments({"replay": str(archive)}, SITES)
    kept = re.search(r"head -c (\d+) ", str(raised.value))
    assert kept is not None
    archive.write_bytes(DEMO[: int(kept.group(1))])
    assert parse_arguments({"replay": str(archive)}, SITES).replay == archive


def test_a_missing_archive_is_refused() -> None:
    with pytest.raises(ArgumentError, match="replay must be 'demo' or the path of a WARC file"):
        parse_arguments({"replay": "/nonexistent/archive.warc.gz"}, SITES)


def test_the_demo_and_an_archive_cut_between_records_are_accepted(tmp_path: Path) -> None:
    assert parse_arguments({"replay": "demo"}, SITES).replay == DEMO_ARCHIVE
    archive = tmp_path / "first-half.warc.gz"
    archive.write_bytes(DEMO[: record_offsets(DEMO)[106]])
    assert parse_arguments({"replay": str(archive)}, SITES).replay == archive

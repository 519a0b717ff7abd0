"""Record every exchange of a crawl into a WARC file, and replay a crawl from one, offline.

Replaying answers each request from the archive: the crawl runs the same code as a live one
(robots.txt, list pagination, dataproxy POSTs, redirects) without touching the network.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import logging
import os
from collections.abc import Iterator
from contextlib import redirect_stderr
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Any, BinaryIO, NoReturn
from urllib.parse import urlsplit

from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Headers, Response
from scrapy.responsetypes import responsetypes
from scrapy.signalmanager import SignalManager
from scrapy.statscollectors import StatsCollector
from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from crawler import signals as parknews_signals
from crawler.default_settings import parknews_settings

DEMO_ARCHIVE = Path(__file__).parent.parent / "data" / "demo.warc.gz"
"""The demo archive: the fixture sites as `-a replay=demo` crawls them."""
READ_SIZE = 64 * 1024
logger = logging.getLogger(__name__)


class ArchiveError(ValueError):
    """An archive that cannot be replayed (in full); the message is one line naming the file
    and what is wrong with it."""


class NotInArchive(IgnoreRequest):
    """A request the replayed archive holds no answer to: not an answer from the site, so
    nothing is concluded about the page (it is not "gone")."""


class DamagedRecord(IgnoreRequest):
    """A request whose archived answer cannot be read."""


def exchange_key(method: str, url: str, body: bytes) -> str:
    """What identifies one request in an archive: method, URL and a digest of the body. The
    body's "&"-separated parts are taken in sorted order: a server reads a form's fields by
    name, and page scripts do not all send them in the same order."""
    digest = hashlib.sha1(b"&".join(sorted(body.split(b"&")))).hexdigest() if body else "-"
    return f"{method.upper()} {url} {digest}"


@dataclass(frozen=True)
class RecordHead:
    """What the index keeps of one WARC record: where it starts, its type, target URL, id,
    date and links (WARC-Concurrent-To), and for a request its HTTP method and body."""

    offset: int
    kind: str
    url: str
    record_id: str
    date: str
    links: tuple[str, ...]
    method: str = "GET"
    body: bytes = b""


def unread_bytes(record: Any) -> int:
    """Read the rest of a record; how many bytes of its Content-Length the file lacked."""
    stream = record.raw_stream
    while stream.read(READ_SIZE):
        pass
    return int(getattr(stream, "limit", 0))


def record_head(record: Any, offset: int) -> RecordHead:
    """The index's view of a record, its request body read (warcio record in, any kind)."""
    headers = record.rec_headers
    kind = record.rec_type or ""
    is_request = kind == "request"
    return RecordHead(
        offset=offset,
        kind=kind,
        url=headers.get_header("WARC-Target-URI") or "",
        record_id=headers.get_header("WARC-Record-ID") or "",
        date=headers.get_header("WARC-Date") or "",
        # Pairing goes either way: parknews points requests at responses, wget and others
        # point responses at requests.
        links=tuple(v for name, v in headers.headers if name.lower() == "warc-concurrent-to"),
        method=record.http_headers.protocol if is_request and record.http_headers else "GET",
        body=record.content_stream().read() if is_request else b"",
    )


def damaged(path: Path, number: int, offset: int, what: str) -> ArchiveError:
    """The one-line error for record `number` of an archive, with the way to keep the whole
    records before it (a recording cut short by a killed run is whole up to its last one)."""
    message = f"replay archive {path} is damaged: record {number} {what}"
    if offset:
        message += (
            f"; the {number - 1} records before it can be replayed from a copy of its first "
            f"{offset} bytes (head -c {offset} {path} > COPY)"
        )
    return ArchiveError(message)


def load_failure(path: Path, number: int, offset: int, exc: Exception) -> ArchiveError:
    """The one-line error for a record warcio could not parse."""
    detail = " ".join(str(exc).split())
    if "non-chunked gzip" in detail:
        return ArchiveError(
            f"replay archive {path} is gzipped as one stream, not record by record; "
            f"`warcio recompress {path} NEW_PATH` writes a copy that can be replayed"
        )
    if number == 1 and isinstance(exc, ArchiveLoadFailed):
        return ArchiveError(f"replay archive {path} is not a WARC file ({detail[:120]})")
    return damaged(path, number, offset, f"(at byte {offset}) cannot be read")


def checked_head(path: Path, records: Any, number: int, size: int) -> RecordHead | None:
    """The next record of an open archive of `size` bytes, read to its end; None after the
    last one.

    warcio reads damaged input without complaint (a record cut in its HTTP headers ends the
    iteration as if the file ended there) or with anything from ArchiveLoadFailed to
    AttributeError, and writes some complaints to stderr: every way is turned into one
    ArchiveError, and stderr is kept clean."""
    with redirect_stderr(io.StringIO()) as complaints:
        try:
            record = next(records, None)
            offset = int(records.offset)
            if record is None and offset < size:
                raise load_failure(path, number, offset, EOFError())
            if record is None:
                return None
            length = record.rec_headers.get_header("Content-Length") or ""
            if not length.isdigit():
                raise damaged(path, number, offset, f"(at byte {offset}) has no Content-Length")
            head = record_head(record, offset)
            missing = unread_bytes(record)
        except ArchiveError:
            raise
        except Exception as exc:  # warcio's errors on damaged input are of any type
            raise load_failure(path, number, int(records.offset), exc) from exc
    if missing:
        where = f"(a {head.kind or 'record'} of {head.url or '?'}, at byte {head.offset})"
        kept = int(length) - missing
        raise damaged(path, number, head.offset, f"{where} is cut short, {kept} of {length} bytes")
    if complaints.getvalue().strip():
        raise load_failure(path, number, head.offset, ValueError(complaints.getvalue()))
    return head


def scan_archive(path: Path) -> Iterator[RecordHead]:
    """Every record of a WARC file in file order, each read to its end; ArchiveError at the
    first one that cannot be read or is cut short (the file reads once, front to back)."""
    with path.open("rb") as stream:
        size = os.fstat(stream.fileno()).st_size
        records = ArchiveIterator(stream)
        for number in itertools.count(1):
            head = checked_head(path, records, number, size)
            if head is None:
                return
            yield head


def check_archive(path: Path) -> int:
    """The number of responses a WARC file holds; ArchiveError, its message naming the file
    and what is wrong, for a file that is empty, not a WARC file, damaged or cut short, or
    that holds no response."""
    if path.stat().st_size == 0:
        raise ArchiveError(f"replay archive {path} is empty")
    responses = sum(1 for head in scan_archive(path) if head.kind == "response")
    if not responses:
        raise ArchiveError(f"replay archive {path} holds no response records")
    return responses


@dataclass(frozen=True)
class ArchivedResponse:
    """Where a response record starts in the archive, and when it was recorded."""

    offset: int
    recorded_at: str


class WarcIndex:
    """The responses of a WARC file by request, read from disk only when asked for.

    A damaged archive is indexed up to its first damaged record; `damage` then says what is
    wrong."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._by_key: dict[str, ArchivedResponse] = {}
        self._by_url: dict[str, ArchivedResponse] = {}
        self.damage: ArchiveError | None = None
        self._build()

    def _build(self) -> None:
        request_keys: dict[str, str] = {}
        responses: dict[str, ArchivedResponse] = {}
        links: list[tuple[str, str]] = []
        try:
            for head in scan_archive(self.path):
                links.extend((head.record_id, value) for value in head.links)
                if head.kind == "request":
                    request_keys[head.record_id] = exchange_key(head.method, head.url, head.body)
                elif head.kind == "response":
                    found = ArchivedResponse(offset=head.offset, recorded_at=head.date)
                    responses[head.record_id] = found
                    self._by_url.setdefault(head.url, found)
        except ArchiveError as exc:
            self.damage = exc
        for one, other in links:
            for request_id, response_id in ((one, other), (other, one)):
                if request_id in request_keys and response_id in responses:
                    self._by_key[request_keys[request_id]] = responses[response_id]

    def __len__(self) -> int:
        return max(len(self._by_key), len(self._by_url))

    def find(self, method: str, url: str, body: bytes) -> ArchivedResponse | None:
        """The archived answer to a request: by method+URL+body, else a GET by URL alone."""
        found = self._by_key.get(exchange_key(method, url, body))
        if found is None and method.upper() == "GET":
            found = self._by_url.get(url)
        return found

    def read(self, found: ArchivedResponse) -> tuple[int, list[tuple[str, str]], bytes]:
        """Status, headers and body of an archived response; ArchiveError if it cannot be
        read in full."""
        with self.path.open("rb") as stream:
            stream.seek(found.offset)
            with redirect_stderr(io.StringIO()) as complaints:
                try:
                    record = next(iter(ArchiveIterator(stream)))
                    http = record.http_headers
                    status = int(http.get_statuscode()) if http else 200
                    headers = list(http.headers) if http else []
                    body = record.content_stream().read()
                    missing = unread_bytes(record)
                except Exception as exc:  # warcio's errors on damaged input are of any type
                    raise ArchiveError(
                        f"replay archive {self.path}: the record at byte {found.offset} "
                        f"cannot be read ({type(exc).__name__})"
                    ) from exc
        if missing or complaints.getvalue().strip():
            raise ArchiveError(
                f"replay archive {self.path}: the record at byte {found.offset} is damaged "
                "or cut short"
            )
        return status, headers, body


class ReplayMiddleware:
    """Downloader middleware: answers every request from `PARKNEWS_REPLAY_ARCHIVE`.

    A request the archive does not hold fails with NotInArchive (stat
    `parknews/replay/missing`), one whose record cannot be read with DamagedRecord (stat
    `parknews/replay/damaged`); both are IgnoreRequest, so the request's errback sees a
    failure with no response: nothing answered, nothing is learnt about the page. A request
    with no errback of its own (robots.txt) is reported here with the signal `failure`.
    Nothing goes to the network. An archive damaged part way is replayed up to the damage.
    """

    def __init__(self, archive: Path, stats: StatsCollector, signals: SignalManager) -> None:
        self.index = WarcIndex(archive)
        self.stats = stats
        self.signals = signals
        logger.info("Replaying %d recorded responses from %s", len(self.index), archive)
        if self.index.damage is not None:
            self.stats.inc_value("parknews/replay/damaged")
            logger.error("%s. Replaying the records before it.", self.index.damage)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ReplayMiddleware:
        path = parknews_settings(crawler.settings).get("PARKNEWS_REPLAY_ARCHIVE")
        if not path:
            raise NotConfigured  # no message: Scrapy would log an unset option as a warning
        assert crawler.stats is not None
        return cls(Path(path), crawler.stats, crawler.signals)

    def process_request(self, request: Request, spider: Spider | None = None) -> Response:
        found = self.index.find(request.method, request.url, request.body)
        if found is None:
            self.fail(
                request,
                NotInArchive(f"not in the replayed archive: {request.method} {request.url}"),
                "parknews/replay/missing",
            )
        try:
            status, header_list, body = self.index.read(found)
        except ArchiveError as exc:
            self.fail(request, DamagedRecord(str(exc)), "parknews/replay/damaged")
        headers = Headers()
        for name, value in header_list:
            if name.lower() not in ("transfer-encoding",):
                headers.appendlist(name, value)
        request.meta["parknews_recorded_at"] = found.recorded_at.rstrip("Z")[:19] + "Z"
        self.stats.inc_value("parknews/replay/hits")
        cls = responsetypes.from_args(headers=headers, url=request.url, body=body)
        return cls(url=request.url, status=status, headers=headers, body=body, request=request)

    def fail(self, request: Request, error: IgnoreRequest, stat: str) -> NoReturn:
        """Count the failure and raise it; report it unless the request's errback will."""
        self.stats.inc_value(stat)
        if request.errback is None:
            kind = type(error).__name__
            logger.warning("%s: %s (%s)", kind, request.url, error)
            self.signals.send_catch_log(
                parknews_signals.failure,
                site=None,
                url=request.url,
                kind=kind,
                detail=str(error),
                unanswered=True,
            )
        raise error


class RecordMiddleware:
    """Downloader middleware: writes each request and its response to `PARKNEWS_RECORD_ARCHIVE`.

    The file is written as a gzipped WARC, request and response records paired by
    WARC-Concurrent-To, so `-a replay=PATH` can answer the same requests later.
    """

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._stream: BinaryIO = path.open("wb")
        self.writer = WARCWriter(self._stream, gzip=True)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RecordMiddleware:
        path = parknews_settings(crawler.settings).get("PARKNEWS_RECORD_ARCHIVE")
        if not path:
            raise NotConfigured
        middleware = cls(Path(path))
        crawler.signals.connect(middleware.close, signal=signals.spider_closed)
        return middleware

    def process_response(
        self, request: Request, response: Response, spider: Spider | None = None
    ) -> Response:
        response_headers = StatusAndHeaders(
            f"{response.status} {http_reason(response.status)}",
            header_pairs(response.headers),
            protocol="HTTP/1.1",
        )
        response_record = self.writer.create_warc_record(
            response.url,
            "response",
            payload=io.BytesIO(response.body),
            length=len(response.body),
            http_headers=response_headers,
        )
        request_headers = StatusAndHeaders(
            f"{request.method} {request_target(request.url)} HTTP/1.1",
            header_pairs(request.headers),
            is_http_request=True,
        )
        request_record = self.writer.create_warc_record(
            request.url,
            "request",
            payload=io.BytesIO(request.body),
            length=len(request.body),
            http_headers=request_headers,
        )
        request_record.rec_headers.add_header(
            "WARC-Concurrent-To", response_record.rec_headers.get_header("WARC-Record-ID")
        )
        self.writer.write_record(response_record)
        self.writer.write_record(request_record)
        return response

    def close(self, spider: Spider | None = None, reason: str | None = None) -> None:
        """Flush and close the archive at the end of the crawl."""
        self._stream.close()


def header_pairs(headers: Headers) -> list[tuple[str, str]]:
    """Scrapy headers as (name, value) text pairs, one per value."""
    pairs: list[tuple[str, str]] = []
    for name, values in headers.items():
        for value in values:
            pairs.append((name.decode("latin-1"), value.decode("latin-1")))
    return pairs


def request_target(url: str) -> str:
    """The path and query of a URL, as an HTTP request line names it."""
    parts = urlsplit(url)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def http_reason(status: int) -> str:
    """The standard reason phrase of a status code."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def archive_summary(path: Path) -> dict[str, Any]:
    """Counts of records by type in an archive, for logs and tests."""
    counts: dict[str, Any] = {}
    with path.open("rb") as stream:
        for record in ArchiveIterator(stream):
            counts[record.rec_type] = counts.get(record.rec_type, 0) + 1
    return counts

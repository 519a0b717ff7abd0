"""Record every exchange of a crawl into a WARC file, and replay a crawl from one, offline.

Replaying answers each request from the archive: the crawl runs the same code as a live one
(robots.txt, list pagination, dataproxy POSTs, redirects) without touching the network.
"""

from __future__ import annotations

import hashlib
import io
import logging
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlsplit

from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Headers, Response
from scrapy.responsetypes import responsetypes
from scrapy.statscollectors import StatsCollector
from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from crawler.default_settings import parknews_settings

DEMO_ARCHIVE = Path(__file__).parent.parent / "data" / "demo.warc.gz"
"""The demo archive: the fixture sites as `-a replay=demo` crawls them."""
logger = logging.getLogger(__name__)


def exchange_key(method: str, url: str, body: bytes) -> str:
    """What identifies one request in an archive: method, URL and a digest of the body."""
    digest = hashlib.sha1(body).hexdigest() if body else "-"
    return f"{method.upper()} {url} {digest}"


@dataclass(frozen=True)
class ArchivedResponse:
    """Where a response record starts in the archive, and when it was recorded."""

    offset: int
    recorded_at: str


class WarcIndex:
    """The responses of a WARC file by request, read from disk only when asked for."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._by_key: dict[str, ArchivedResponse] = {}
        self._by_url: dict[str, ArchivedResponse] = {}
        self._build()

    def _build(self) -> None:
        request_keys: dict[str, str] = {}
        responses: dict[str, ArchivedResponse] = {}
        links: list[tuple[str, str]] = []
        with self.path.open("rb") as stream:
            records = ArchiveIterator(stream)
            for record in records:
                headers = record.rec_headers
                url = headers.get_header("WARC-Target-URI") or ""
                record_id = headers.get_header("WARC-Record-ID") or ""
                # Pairing goes either way: parknews points requests at responses, wget and
                # others point responses at requests.
                links.extend(
                    (record_id, value)
                    for name, value in headers.headers
                    if name.lower() == "warc-concurrent-to"
                )
                if record.rec_type == "request":
                    method = record.http_headers.protocol if record.http_headers else "GET"
                    body = record.content_stream().read()
                    request_keys[record_id] = exchange_key(method, url, body)
                elif record.rec_type == "response":
                    found = ArchivedResponse(
                        offset=records.get_record_offset(),
                        recorded_at=headers.get_header("WARC-Date") or "",
                    )
                    responses[record_id] = found
                    self._by_url.setdefault(url, found)
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
        """Status, headers and body of an archived response."""
        with self.path.open("rb") as stream:
            stream.seek(found.offset)
            record = next(iter(ArchiveIterator(stream)))
            status_line = record.http_headers.get_statuscode() if record.http_headers else "200"
            headers = list(record.http_headers.headers) if record.http_headers else []
            body = record.content_stream().read()
        return int(status_line), headers, body


class ReplayMiddleware:
    """Downloader middleware: answers every request from `PARKNEWS_REPLAY_ARCHIVE`.

    A request the archive does not hold gets a 404 marked `X-Parknews-Replay: missing` and is
    counted as `parknews/replay/missing`; nothing goes to the network.
    """

    def __init__(self, archive: Path, stats: StatsCollector) -> None:
        self.index = WarcIndex(archive)
        self.stats = stats
        logger.info("Replaying %d recorded responses from %s", len(self.index), archive)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ReplayMiddleware:
        path = parknews_settings(crawler.settings).get("PARKNEWS_REPLAY_ARCHIVE")
        if not path:
            raise NotConfigured  # no message: Scrapy would log an unset option as a warning
        assert crawler.stats is not None
        return cls(Path(path), crawler.stats)

    def process_request(self, request: Request, spider: Spider | None = None) -> Response:
        found = self.index.find(request.method, request.url, request.body)
        if found is None:
            self.stats.inc_value("parknews/replay/missing")
            logger.warning("Not in the replayed archive: %s %s", request.method, request.url)
            return Response(
                request.url, status=404, headers={"X-Parknews-Replay": "missing"}, request=request
            )
        status, header_list, body = self.index.read(found)
        headers = Headers()
        for name, value in header_list:
            if name.lower() not in ("transfer-encoding",):
                headers.appendlist(name, value)
        request.meta["parknews_recorded_at"] = found.recorded_at.rstrip("Z")[:19] + "Z"
        self.stats.inc_value("parknews/replay/hits")
        cls = responsetypes.from_args(headers=headers, url=request.url, body=body)
        return cls(url=request.url, status=status, headers=headers, body=body, request=request)


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

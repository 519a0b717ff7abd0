"""A server on 127.0.0.1 that answers as the fixture sites do, reached as an HTTP proxy.

The crawl asks for real URLs (http://www.sipac.gov.cn/…) through `http_proxy`; the server
answers from tests/fixtures/sites/<host>/, including the Hanweb dataproxy POST, the newer TRS
search API and list pages reached by a query string or a form's POST. Run it alone
with `python -m tests.sitesrv [--port N]`, or record the demo archive with
`python -m tests.sitesrv record`.

Fault mode: a host directory may hold `_faults.json`, rules that make requests misbehave
(error statuses, resets, stalls, short bodies, a gzip bomb, oversized pages, redirects, raw
files); see `FaultRule` and tests/fixtures/faults/README.md. `serve(FAULTS_DIR, log=...)`
serves the fault hosts (`faults.test`, a Hanweb copy of www.hhtz.gov.cn) and records every
request in a `RequestLog`; `python -m tests.sitesrv --faults` serves them alone.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import re
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import zlib
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

SITES_DIR = Path(__file__).parent / "fixtures" / "sites"
FAULTS_DIR = Path(__file__).parent / "fixtures" / "faults"
FAULT_HOST = "faults.test"
REPO = Path(__file__).resolve().parent.parent
DEFAULT_HOST = "www.sipac.gov.cn"
INDEX_NAMES = ("index.html", "index.shtml", "index.htm")
QUERY_MARK = "@"
"""`<path>@<query>` holds the answer to `<path>?<query>` (or to a POST of that form body)."""
TRS_SEARCH_PATH = "/irs/front/list"
TYPES = {
    ".html": "text/html",
    ".htm": "text/html",
    ".shtml": "text/html",
    ".txt": "text/plain",
    ".xml": "text/xml",
    ".pdf": "application/pdf",
    ".jpg": "image/jpeg",
    ".png": "image/png",
}


def resolve(sites_dir: Path, host: str, path: str) -> Path | None:
    """The file that answers `path` on `host`, or None; never a file outside the host's tree."""
    root = (sites_dir / host).resolve()
    if not root.is_dir() or not re.fullmatch(r"[a-z0-9.-]+", host):
        return None
    target = (root / path.lstrip("/")).resolve()
    if root not in target.parents and target != root:
        return None
    if target.is_dir():
        for name in INDEX_NAMES:
            if (target / name).is_file():
                return target / name
        return None
    hidden = any(part.startswith("_") for part in target.relative_to(root).parts)
    if hidden or target.name.endswith(".expected.json") or not target.is_file():
        return None
    return target


def header_rules(sites_dir: Path, host: str) -> list[dict[str, object]]:
    """The host's `_headers.json` rules, or none."""
    rules = sites_dir / host / "_headers.json"
    if not rules.is_file():
        return []
    loaded: list[dict[str, object]] = json.loads(rules.read_text("utf-8"))
    return loaded


def dataproxy_answer(sites_dir: Path, host: str, query: str, form: str) -> bytes | None:
    """Records startrecord..endrecord of a Hanweb column, wrapped in a `<datastore>`."""
    params = parse_qs(query)
    fields = parse_qs(form)
    column = (fields.get("columnid") or params.get("columnid") or [""])[0]
    if not re.fullmatch(r"\d+", column):
        return None
    source = sites_dir / host / "_dataproxy" / f"{column}.xml"
    if not source.is_file():
        return None
    records = re.findall(r"<record>.*?</record>", source.read_text("utf-8"), flags=re.S)
    try:
        start = int(params["startrecord"][0])
        end = int(params["endrecord"][0])
        per_page = int(params.get("perpage", ["15"])[0])
    except (KeyError, ValueError):
        return None
    total = len(records)
    pages = -(-total // per_page) if per_page > 0 else 0
    chosen = "".join(records[start - 1 : end])
    text = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<datastore>'
        f"<totalrecord>{total}</totalrecord><totalpage>{pages}</totalpage>"
        f"<recordset>{chosen}</recordset></datastore>"
    )
    return text.encode("utf-8")


def resolve_query(sites_dir: Path, host: str, path: str, query: str) -> Path | None:
    """The host's own answer to `path` with this query string (or POSTed form body): the file
    `<path>@<query>`, or None when there is none."""
    if not query:
        return None
    return resolve(sites_dir, host, f"{path}{QUERY_MARK}{query}")


def trs_search_answer(sites_dir: Path, host: str, query: str) -> bytes | None:
    """Page `pageNo` (1-based, `pageSize` records) of a TRS channel's records, kept in
    `_search/<channelId>.json`, as the newer TRS front end's search API answers it."""
    params = parse_qs(query)
    channel = (params.get("channelId") or [""])[0]
    if not re.fullmatch(r"[a-z0-9.-]+", host) or not re.fullmatch(r"\d+", channel):
        return None
    source = sites_dir / host / "_search" / f"{channel}.json"
    if not source.is_file():
        return None
    try:
        page = int(params["pageNo"][0])
        size = int(params["pageSize"][0])
    except (KeyError, ValueError):
        return None
    if page < 1 or size < 1:
        return None
    records: list[dict[str, object]] = json.loads(source.read_text("utf-8"))
    total = len(records)
    pager = {"pageNo": page, "pageSize": size, "total": total, "pageCount": -(-total // size)}
    chosen = records[(page - 1) * size : page * size]
    answer = {"code": 200, "msg": "success", "data": {"pager": pager, "list": chosen}}
    return json.dumps(answer, ensure_ascii=False).encode("utf-8")


@dataclass(frozen=True)
class SeenRequest:
    """One request as the server received it."""

    method: str
    host: str
    """The host the request named (absolute URL or Host header), lower-case, before any
    mapping of 127.0.0.1 to the default fixture host."""
    path: str
    query: str
    at: float
    """time.monotonic() when the request line was read."""


class RequestLog:
    """Every request a server saw, in arrival order; safe to share between handler threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: list[SeenRequest] = []

    def add(self, seen: SeenRequest) -> None:
        with self._lock:
            self._seen.append(seen)

    def requests(self) -> list[SeenRequest]:
        with self._lock:
            return list(self._seen)

    def hosts(self) -> set[str]:
        """Every host a request named."""
        return {seen.host for seen in self.requests()}

    def to(self, host: str, path: str) -> list[SeenRequest]:
        """The requests for `path` on `host`, whatever their query."""
        return [s for s in self.requests() if s.host == host and s.path == path]


FaultRule = dict[str, Any]
"""One entry of a host's `_faults.json`. Keys: `path` (a glob on the URL path), optional
`method` ("GET" by default) and `params` (query or form fields that must all match), and
`fault` with its own keys:

- "status": answer `status` with `body` (default a one-line page) and extra `headers`;
- "reset": read the request, then reset the connection (RST, no answer at all);
- "stall": announce `page` (a file of the host) in full, send its first `sent` bytes,
  then say nothing for `seconds` and close;
- "short_body": announce `declared` bytes, send the first `sent` bytes of `page`, close;
- "gzip_bomb": `inflated_mib` MiB of zeros, gzip-compressed (about 1/1000 of that),
  sent with Content-Encoding: gzip;
- "oversize": a real article page of `megabytes` MB, with Content-Length when `announce`,
  else ended by closing the connection;
- "redirect": 302 to `location`; "redirect_chain": 302 to the same path with ?hop=N+1;
- "sequence": the rule of `steps` (a list of rules) for the Nth request of this path, the
  last step once they run out (a page that fails once, then misbehaves otherwise);
- "file": the host file `file` (hidden `_` files included) as `content_type`, with
  "{{server}}" replaced by this server's own http://127.0.0.1:PORT.
"""


def fault_rules(sites_dir: Path, host: str) -> list[FaultRule]:
    """The host's `_faults.json` rules, or none."""
    rules = sites_dir / host / "_faults.json"
    if not re.fullmatch(r"[a-z0-9.-]+", host) or not rules.is_file():
        return []
    loaded: list[FaultRule] = json.loads(rules.read_text("utf-8"))
    return loaded


def matching_fault(
    rules: list[FaultRule], method: str, path: str, params: dict[str, list[str]]
) -> FaultRule | None:
    """The first rule for this request, or None."""
    for rule in rules:
        if rule.get("method", "GET") != method or not fnmatch.fnmatch(path, rule["path"]):
            continue
        wanted: dict[str, str] = rule.get("params", {})
        if all(params.get(name, [None])[0] == value for name, value in wanted.items()):
            return rule
    return None


@cache
def gzip_bomb(inflated_mib: int) -> bytes:
    """A gzip member that inflates to `inflated_mib` MiB of zeros, in about 1/1000 of that.

    One MiB of zeros is compressed and sync-flushed twice; once the 32 KiB window holds
    zeros only, the second block means "1 MiB of zeros" wherever it stands, so it is
    repeated instead of compressing the whole GiB (which takes seconds).
    """
    chunk = bytes(1 << 20)
    deflate = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    first = deflate.compress(chunk) + deflate.flush(zlib.Z_SYNC_FLUSH)
    steady = deflate.compress(chunk) + deflate.flush(zlib.Z_SYNC_FLUSH)
    end = deflate.flush(zlib.Z_FINISH)
    crc = 0
    for _ in range(inflated_mib):
        crc = zlib.crc32(chunk, crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    trailer = struct.pack("<II", crc, (inflated_mib << 20) & 0xFFFFFFFF)
    return header + first + steady * (inflated_mib - 1) + end + trailer


@cache
def oversize_page(megabytes: int) -> bytes:
    """A well-formed article page of about `megabytes` MB (10^6 bytes)."""
    head = (
        '<!DOCTYPE html><html><head><meta charset="utf-8"><title>超长页面</title></head>'
        '<body><h1>超长页面</h1><div class="TRS_Editor">'
    ).encode()
    paragraph = "<p>园区各部门按照年度计划推进重点工作，本段文字用于填充页面体积。</p>\n".encode()
    tail = b"</div></body></html>"
    count = (megabytes * 1_000_000 - len(head) - len(tail)) // len(paragraph) + 1
    return head + paragraph * count + tail


class FixtureServer(ThreadingHTTPServer):
    """The threading server, quiet about clients that hang up (stalls, resets, cancels)."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)


class FixtureHandler(BaseHTTPRequestHandler):
    """Answers one request from the fixture tree."""

    server_version = "FixtureSites/1.0"
    sites_dir = SITES_DIR
    protocol_version = "HTTP/1.1"
    # Set per server by serve(): its request log, its stop signal, requests seen per path.
    request_log: ClassVar[RequestLog | None] = None
    stopping: ClassVar[threading.Event] = threading.Event()
    seen_paths: ClassVar[dict[tuple[str, str], int]] = {}
    seen_lock: ClassVar[threading.Lock] = threading.Lock()

    def log_message(self, format: str, *args: object) -> None:
        if os.environ.get("FIXTURE_SERVER_LOG"):
            super().log_message(format, *args)

    def target(self) -> tuple[str, str, str]:
        parts = urlsplit(self.path)
        host = parts.hostname or (self.headers.get("Host") or "").split(":")[0]
        if host in ("127.0.0.1", "localhost", ""):
            host = DEFAULT_HOST
        return host.lower(), parts.path or "/", parts.query

    def note(self, method: str) -> None:
        """Record the request in the server's log, if it keeps one."""
        if self.request_log is None:
            return
        parts = urlsplit(self.path)
        host = parts.hostname or (self.headers.get("Host") or "").split(":")[0]
        seen = SeenRequest(method, host.lower(), parts.path or "/", parts.query, time.monotonic())
        self.request_log.add(seen)

    def do_GET(self) -> None:
        self.note("GET")
        host, path, query = self.target()
        if self.misbehave("GET", host, path, parse_qs(query)):
            return
        if path == TRS_SEARCH_PATH:
            answer = trs_search_answer(self.sites_dir, host, query)
            if answer is not None:
                self.answer(200, answer, "application/json;charset=UTF-8")
                return
        found = resolve_query(self.sites_dir, host, path, query) or resolve(
            self.sites_dir, host, path
        )
        if found is None:
            self.answer(404, b"<html><body><h1>404 Not Found</h1></body></html>", "text/html")
            return
        self.answer_file(host, path, found)

    def answer_file(self, host: str, path: str, found: Path) -> None:
        """Answer with a file of the host's tree, its type from `_headers.json` or its suffix."""
        content_type = TYPES.get(found.suffix, "application/octet-stream")
        extra: dict[str, str] = {}
        for rule in header_rules(self.sites_dir, host):
            if fnmatch.fnmatch(path, str(rule.get("glob", ""))):
                headers = rule.get("headers", {})
                assert isinstance(headers, dict)
                extra = {str(k): str(v) for k, v in headers.items()}
                break
        content_type = extra.pop("Content-Type", content_type)
        self.answer(200, found.read_bytes(), content_type, extra)

    def do_POST(self) -> None:
        self.note("POST")
        host, path, query = self.target()
        length = int(self.headers.get("Content-Length") or 0)
        form = self.rfile.read(length).decode("latin-1")
        if self.misbehave("POST", host, path, {**parse_qs(form), **parse_qs(query)}):
            return
        if path.endswith("/module/web/jpage/dataproxy.jsp"):
            body = dataproxy_answer(self.sites_dir, host, query, form)
            if body is not None:
                self.answer(200, body, "text/xml;charset=UTF-8")
                return
        found = resolve_query(self.sites_dir, host, path, form)
        if found is not None:
            self.answer_file(host, path, found)
            return
        self.answer(404, b"<html><body>404</body></html>", "text/html")

    def answer(
        self, status: int, body: bytes, content_type: str, extra: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    # --- fault mode ----------------------------------------------------------------------

    def misbehave(self, method: str, host: str, path: str, params: dict[str, list[str]]) -> bool:
        """Carry out the host's fault rule for this request; False when none applies."""
        rule = matching_fault(fault_rules(self.sites_dir, host), method, path, params)
        if rule is None:
            return False
        getattr(self, "fault_" + str(rule["fault"]))(rule, host, path, params)
        return True

    def host_file(self, host: str, name: str) -> bytes:
        """A file of the host's tree named by a rule (hidden `_` files included)."""
        root = (self.sites_dir / host).resolve()
        target = (root / name).resolve()
        if root not in target.parents:
            raise ValueError(f"fault rule file {name!r} is outside {root}")
        return target.read_bytes()

    def hang_up(self, reset: bool = False) -> None:
        """Close the connection now; with `reset`, as an RST instead of an orderly FIN."""
        self.close_connection = True
        with suppress(OSError):
            self.wfile.flush()
            if reset:
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
            else:
                self.connection.shutdown(socket.SHUT_WR)
            self.connection.close()

    def head(self, status: int, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()

    def fault_status(self, rule: FaultRule, *_: object) -> None:
        status = int(rule["status"])
        default = f"<html><body><h1>{status}</h1></body></html>"
        body = str(rule.get("body", default)).encode("utf-8")
        headers = {str(k): str(v) for k, v in rule.get("headers", {}).items()}
        self.answer(status, body, "text/html; charset=utf-8", headers)

    def fault_reset(self, *_: object) -> None:
        self.hang_up(reset=True)

    def fault_stall(self, rule: FaultRule, host: str, *_: object) -> None:
        body = self.host_file(host, str(rule["page"]))
        self.head(
            200, {"Content-Type": "text/html; charset=utf-8", "Content-Length": str(len(body))}
        )
        self.wfile.write(body[: int(rule["sent"])])
        self.wfile.flush()
        self.stopping.wait(float(rule["seconds"]))
        self.hang_up()

    def fault_short_body(self, rule: FaultRule, host: str, *_: object) -> None:
        body = self.host_file(host, str(rule["page"]))[: int(rule["sent"])]
        headers = {"Content-Type": "text/html; charset=utf-8", "Content-Length": rule["declared"]}
        self.head(200, {k: str(v) for k, v in headers.items()})
        self.wfile.write(body)
        self.hang_up()

    def fault_gzip_bomb(self, rule: FaultRule, *_: object) -> None:
        body = gzip_bomb(int(rule["inflated_mib"]))
        extra = {"Content-Encoding": "gzip"}
        self.answer(200, body, "text/html; charset=utf-8", extra)

    def fault_oversize(self, rule: FaultRule, *_: object) -> None:
        body = oversize_page(int(rule["megabytes"]))
        if rule.get("announce", True):
            self.answer(200, body, "text/html; charset=utf-8")
            return
        self.head(200, {"Content-Type": "text/html; charset=utf-8", "Connection": "close"})
        with suppress(OSError):
            for start in range(0, len(body), 1 << 16):
                self.wfile.write(body[start : start + (1 << 16)])
        self.hang_up()

    def fault_redirect(self, rule: FaultRule, *_: object) -> None:
        location = str(rule["location"])
        self.answer(302, b"", "text/html", {"Location": location})

    def fault_redirect_chain(
        self, rule: FaultRule, host: str, path: str, params: dict[str, list[str]]
    ) -> None:
        hop = int((params.get("hop") or ["0"])[0]) + 1
        self.answer(302, b"", "text/html", {"Location": f"{path}?hop={hop}"})

    def fault_sequence(
        self, rule: FaultRule, host: str, path: str, params: dict[str, list[str]]
    ) -> None:
        with self.seen_lock:
            count = self.seen_paths.get((host, path), 0)
            self.seen_paths[(host, path)] = count + 1
        steps: list[FaultRule] = rule["steps"]
        step = steps[min(count, len(steps) - 1)]
        getattr(self, "fault_" + str(step["fault"]))(step, host, path, params)

    def fault_file(self, rule: FaultRule, host: str, *_: object) -> None:
        body = self.host_file(host, str(rule["file"]))
        port = self.connection.getsockname()[1]
        own = f"http://127.0.0.1:{port}".encode()
        body = body.replace(b"{{server}}", own)
        self.answer(200, body, str(rule.get("content_type", "application/octet-stream")))


@contextmanager
def serve(
    sites_dir: Path = SITES_DIR, port: int = 0, *, log: RequestLog | None = None
) -> Iterator[str]:
    """Serve the fixture sites on 127.0.0.1 for the length of the block; yields the proxy URL.

    With `log`, every request the server receives is recorded in it.
    """
    stopping = threading.Event()
    attributes: dict[str, object] = {
        "sites_dir": sites_dir,
        "request_log": log,
        "stopping": stopping,
        "seen_paths": {},
        "seen_lock": threading.Lock(),
    }
    handler = type("Handler", (FixtureHandler,), attributes)
    server = FixtureServer(("127.0.0.1", port), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        stopping.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def walk_truth(host: str) -> dict[str, Any]:
    """The `_lists.json` of a family fixture host: the truth of a crawl from its start URL."""
    loaded: dict[str, Any] = json.loads((SITES_DIR / host / "_lists.json").read_text("utf-8"))
    return loaded


def fetch_through(proxy: str, request: dict[str, Any]) -> str:
    """The fixture server's answer to a walk request, as text."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({"http": proxy}))
    data = request["body"].encode("ascii") if request["body"] is not None else None
    outgoing = urllib.request.Request(request["url"], data=data, method=request["method"])
    if data is not None:
        outgoing.add_header("Content-Type", "application/x-www-form-urlencoded")
    with opener.open(outgoing, timeout=10) as answer:
        assert answer.status == 200, request
        body: bytes = answer.read()
    return body.decode("utf-8")


def crawl_env(proxy: str) -> dict[str, str]:
    """The environment for a crawl subprocess that reaches the fixture sites through `proxy`."""
    env = dict(os.environ)
    env.update({"http_proxy": proxy, "HTTP_PROXY": proxy, "no_proxy": "", "NO_PROXY": ""})
    return env


def crawl_command(output_dir: Path, *arguments: str) -> list[str]:
    """`scrapy crawl parknews` writing its output and state under `output_dir`, unthrottled
    (the fixture server is on this machine); later `-s` arguments override these."""
    return [
        sys.executable,
        "-m",
        "scrapy",
        "crawl",
        "parknews",
        "-s",
        f"PARKNEWS_OUTPUT_DIR={output_dir}",
        "-s",
        f"PARKNEWS_STATE_PATH={output_dir / 'state.sqlite3'}",
        "-s",
        "DOWNLOAD_DELAY=0",
        "-s",
        "AUTOTHROTTLE_ENABLED=False",
        "-s",
        "CONCURRENT_REQUESTS_PER_DOMAIN=8",
        *arguments,
    ]


def record_demo(archive: Path) -> None:
    """Crawl the fixture sites through the server and record every exchange into `archive`."""
    with serve() as proxy, tempfile.TemporaryDirectory() as output:
        command = crawl_command(
            Path(output), "-s", f"PARKNEWS_RECORD_ARCHIVE={archive}", "-s", "LOG_LEVEL=WARNING"
        )
        subprocess.run(command, cwd=REPO, env=crawl_env(proxy), check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("action", nargs="?", choices=["serve", "record"], default="serve")
    parser.add_argument("--port", type=int, default=8087)
    parser.add_argument("--archive", type=Path, default=REPO / "crawler/data/demo.warc.gz")
    parser.add_argument(
        "--faults", action="store_true", help=f"serve the fault hosts of {FAULTS_DIR}"
    )
    args = parser.parse_args()
    if args.action == "record":
        record_demo(args.archive)
        print(f"recorded {args.archive}")
        return
    with serve(FAULTS_DIR if args.faults else SITES_DIR, port=args.port) as proxy:
        print(f"fixture sites at {proxy} (use it as http_proxy); Ctrl-C stops")
        with suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()

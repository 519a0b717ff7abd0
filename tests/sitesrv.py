"""A server on 127.0.0.1 that answers as the fixture sites do, reached as an HTTP proxy.

The crawl asks for real URLs (http://www.sipac.gov.cn/…) through `http_proxy`; the server
answers from tests/fixtures/sites/<host>/, including the Hanweb dataproxy POST. Run it alone
with `python -m tests.sitesrv [--port N]`, or record the demo archive with
`python -m tests.sitesrv record`.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

SITES_DIR = Path(__file__).parent / "fixtures" / "sites"
REPO = Path(__file__).resolve().parent.parent
DEFAULT_HOST = "www.sipac.gov.cn"
INDEX_NAMES = ("index.html", "index.shtml", "index.htm")
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


class FixtureHandler(BaseHTTPRequestHandler):
    """Answers one request from the fixture tree."""

    server_version = "FixtureSites/1.0"
    sites_dir = SITES_DIR
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        if os.environ.get("FIXTURE_SERVER_LOG"):
            super().log_message(format, *args)

    def target(self) -> tuple[str, str, str]:
        parts = urlsplit(self.path)
        host = parts.hostname or (self.headers.get("Host") or "").split(":")[0]
        if host in ("127.0.0.1", "localhost", ""):
            host = DEFAULT_HOST
        return host.lower(), parts.path or "/", parts.query

    def do_GET(self) -> None:
        host, path, _ = self.target()
        found = resolve(self.sites_dir, host, path)
        if found is None:
            self.answer(404, b"<html><body><h1>404 Not Found</h1></body></html>", "text/html")
            return
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
        host, path, query = self.target()
        length = int(self.headers.get("Content-Length") or 0)
        form = self.rfile.read(length).decode("latin-1")
        if path.endswith("/module/web/jpage/dataproxy.jsp"):
            body = dataproxy_answer(self.sites_dir, host, query, form)
            if body is not None:
                self.answer(200, body, "text/xml;charset=UTF-8")
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


@contextmanager
def serve(sites_dir: Path = SITES_DIR, port: int = 0) -> Iterator[str]:
    """Serve the fixture sites on 127.0.0.1 for the length of the block; yields the proxy URL."""
    handler = type("Handler", (FixtureHandler,), {"sites_dir": sites_dir})
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def crawl_env(proxy: str) -> dict[str, str]:
    """The environment for a crawl subprocess that reaches the fixture sites through `proxy`."""
    env = dict(os.environ)
    env.update({"http_proxy": proxy, "HTTP_PROXY": proxy, "no_proxy": "", "NO_PROXY": ""})
    return env


def record_demo(archive: Path) -> None:
    """Crawl the fixture sites through the server and record every exchange into `archive`."""
    with serve() as proxy, tempfile.TemporaryDirectory() as output:
        command = [
            sys.executable,
            "-m",
            "scrapy",
            "crawl",
            "parknews",
            "-s",
            f"PARKNEWS_RECORD_ARCHIVE={archive}",
            "-s",
            "DOWNLOAD_DELAY=0",
            "-s",
            "AUTOTHROTTLE_ENABLED=False",
            "-s",
            f"PARKNEWS_OUTPUT_DIR={output}",
            "-s",
            "LOG_LEVEL=WARNING",
        ]
        subprocess.run(command, cwd=REPO, env=crawl_env(proxy), check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("action", nargs="?", choices=["serve", "record"], default="serve")
    parser.add_argument("--port", type=int, default=8087)
    parser.add_argument("--archive", type=Path, default=REPO / "crawler/replay/demo.warc.gz")
    args = parser.parse_args()
    if args.action == "record":
        record_demo(args.archive)
        print(f"recorded {args.archive}")
        return
    with serve(port=args.port) as proxy:
        print(f"fixture sites at {proxy} (use it as http_proxy); Ctrl-C stops")
        with suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()

"""The `parknews` command: tools around the crawl (`parknews extract PAGE... [--url URL]`,
`parknews probe URL|FILE [--url URL] [--json]`, `parknews validate PATH...`)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import BinaryIO

from crawler.decode import decode_page
from crawler.extract import NotAnArticle
from crawler.items import RecordDict
from crawler.offline import (
    PageProcessor,
    PageTooLarge,
    check_site,
    configured_sites,
    is_http_url,
    own_url,
    read_saved_page,
    saved_page_limit,
    site_keys,
)
from crawler.probe import ProbeError, probe_file, probe_url
from crawler.sites import SITES, SiteRegistry, SitesFileError
from crawler.validate import validate_paths

OWN_URL_SOURCES = "rel=canonical, the Url meta or og:url"
"""Where a page given without --url is asked for its URL, for the messages."""


class Refused(Exception):
    """A saved page `parknews extract` gives no record for; the message says which and why."""


def read_page(path: Path, limit: int) -> bytes:
    """The bytes of a saved page; Refused when it cannot be read or holds more than `limit`."""
    try:
        return read_saved_page(path, limit)
    except OSError as exc:
        raise Refused(f"cannot read {path}: {exc.strerror or exc}") from exc
    except PageTooLarge as exc:
        raise Refused(f"{path} is refused: {exc}") from exc


def page_record(
    path: Path, url: str | None, site: str | None, processor: PageProcessor, limit: int
) -> RecordDict:
    """The record of the saved page at `path`, fetched from `url` (None: the URL the page gives
    for itself, else the file's own file: URL); Refused, saying why, when it has none."""
    raw = read_page(path, limit)
    html = None
    if url is None:
        html = decode_page(raw, None).text
        url = own_url(html) or path.resolve().as_uri()
    if html is None or processor.profile(url, site).encoding_hint:
        html = processor.text(raw, url, site=site)
    try:
        return processor.record_of_text(html, url, site=site)
    except NotAnArticle as exc:
        raise Refused(f"{path} is not an article page: {exc}") from exc


def extract_arguments_problem(
    pages: list[Path], url: str | None, site: str | None, sites: SiteRegistry
) -> str | None:
    """What is wrong with the arguments of `parknews extract`, else None."""
    if url is not None and len(pages) > 1:
        return (
            "--url gives the URL of one page; with several pages each takes the URL it gives"
            f" for itself ({OWN_URL_SOURCES})"
        )
    if url is not None and not is_http_url(url):
        return f"--url must be an http(s) URL, got {url!r}"
    try:
        check_site(site, sites)
    except ValueError as exc:
        return str(exc)
    return None


def write_record(record: RecordDict, out: BinaryIO) -> None:
    """One record as one line of UTF-8 JSON, as the crawl's JSONL files hold it."""
    out.write(json.dumps(record, ensure_ascii=False).encode("utf-8") + b"\n")
    out.flush()


def extract_command(args: argparse.Namespace) -> int:
    """Print the record of each saved page as one JSON line, in the order given; one line on
    stderr for each page that has none (not an article, unreadable, or larger than a crawl
    downloads). 0 when every page gave a record, 1 when some did not, 2 for
    bad arguments or a bad sites file (then no page is read)."""
    try:
        processor = PageProcessor()
    except SitesFileError as exc:
        print(f"parknews extract: {exc}", file=sys.stderr)
        return 2
    problem = extract_arguments_problem(args.pages, args.url, args.site, processor.sites)
    if problem is not None:
        print(f"parknews extract: {problem}", file=sys.stderr)
        return 2
    limit = saved_page_limit()
    refused = 0
    for path in args.pages:
        try:
            record = page_record(path, args.url, args.site, processor, limit)
        except Refused as exc:
            print(f"parknews extract: {exc}", file=sys.stderr)
            refused += 1
            continue
        write_record(record, sys.stdout.buffer)
    return 1 if refused else 0


def probe_command(args: argparse.Namespace) -> int:
    """Print what a crawl would do with one list page (a URL fetched now, or a saved file
    with the URL it came from): 0 when read, 1 when it could not be, 2 for bad arguments or a
    bad sites file."""
    target: str = args.target
    live = target.startswith(("http://", "https://"))
    if live and args.url:
        print(
            "parknews probe: --url is for a saved page; a URL is fetched as it is", file=sys.stderr
        )
        return 2
    if not live and not args.url:
        print(
            f"parknews probe: {target} is a saved page: give the URL it came from with --url",
            file=sys.stderr,
        )
        return 2
    try:
        sites = configured_sites()
        check_site(args.site, sites)
    except (SitesFileError, ValueError) as exc:
        print(f"parknews probe: {exc}", file=sys.stderr)
        return 2
    try:
        if live:
            probe = probe_url(target, sites, args.site)
        else:
            probe = probe_file(Path(target), args.url, sites, args.site)
    except ProbeError as exc:
        print(f"parknews probe: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(probe.as_dict(), ensure_ascii=False))
    else:
        print(probe.text())
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="parknews", description="Park news records tools.")
    commands = parser.add_subparsers(dest="command", required=True)
    extract = commands.add_parser(
        "extract", help="print the record of each saved article page, one JSON line each"
    )
    extract.add_argument("pages", nargs="+", type=Path, metavar="PAGE", help="a saved HTML page")
    extract.add_argument(
        "--url",
        help="the URL the page was fetched from (one page only; by default the URL the page"
        f" gives for itself: {OWN_URL_SOURCES})",
    )
    extract.add_argument(
        "--site",
        help=f"site profile key ({', '.join(site_keys(SITES))}, or a key of the file"
        " PARKNEWS_SITES_FILE names)",
    )
    extract.set_defaults(run=extract_command)
    probe = commands.add_parser(
        "probe", help="show the CMS family, article links and next requests of a list page"
    )
    probe.add_argument("target", metavar="URL|FILE", help="a list page URL, or a saved list page")
    probe.add_argument("--url", help="the URL a saved list page was fetched from")
    probe.add_argument(
        "--site", help=f"read it as this site profile ({', '.join(site_keys(SITES))}, or a user's)"
    )
    probe.add_argument("--json", action="store_true", help="print one JSON object")
    probe.set_defaults(run=probe_command)
    validate = commands.add_parser("validate", help="check JSONL output files line by line")
    validate.add_argument("paths", nargs="+", type=Path, help="JSONL files, or folders of them")
    validate.set_defaults(run=lambda args: validate_paths(args.paths))
    args = parser.parse_args(argv)
    try:
        code: int = args.run(args)
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader went away (`parknews extract *.html | head -1`): stop quietly, and keep
        # Python from complaining again when it flushes stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main())

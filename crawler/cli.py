"""The `parknews` command: tools around the crawl (`parknews extract FILE --url URL`,
`parknews validate PATH...`)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from crawler.extract import NotAnArticle
from crawler.offline import PageProcessor, PageTooLarge, read_saved_page, saved_page_limit
from crawler.sites import SITES
from crawler.validate import validate_paths


def extract_command(args: argparse.Namespace) -> int:
    """Print the record of one saved page as JSON; one line on stderr and 1 when there is none,
    or when the file holds more than a crawl downloads (DOWNLOAD_MAXSIZE)."""
    path: Path = args.file
    if not args.url.startswith(("http://", "https://")):
        print(f"parknews extract: --url must be an http(s) URL, got {args.url!r}", file=sys.stderr)
        return 2
    if args.site is not None and args.site not in SITES:
        print(
            f"parknews extract: unknown site {args.site!r}; valid sites: {', '.join(SITES)}",
            file=sys.stderr,
        )
        return 2
    try:
        raw = read_saved_page(path, saved_page_limit())
    except OSError as exc:
        print(f"parknews extract: cannot read {path}: {exc.strerror}", file=sys.stderr)
        return 1
    except PageTooLarge as exc:
        print(f"parknews extract: {path} is refused: {exc}", file=sys.stderr)
        return 1
    try:
        record = PageProcessor().record(raw, args.url, site=args.site)
    except NotAnArticle as exc:
        print(f"parknews extract: {path} is not an article page: {exc}", file=sys.stderr)
        return 1
    json.dump(record, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="parknews", description="Park news records tools.")
    commands = parser.add_subparsers(dest="command", required=True)
    extract = commands.add_parser("extract", help="print the record of one saved article page")
    extract.add_argument("file", type=Path, help="the saved HTML page")
    extract.add_argument("--url", required=True, help="the URL the page was fetched from")
    extract.add_argument("--site", help=f"site profile key ({', '.join(SITES)})")
    extract.set_defaults(run=extract_command)
    validate = commands.add_parser("validate", help="check JSONL output files line by line")
    validate.add_argument("paths", nargs="+", type=Path, help="JSONL files, or folders of them")
    validate.set_defaults(run=lambda args: validate_paths(args.paths))
    args = parser.parse_args(argv)
    code: int = args.run(args)
    return code


if __name__ == "__main__":
    sys.exit(main())

"""The arguments of `scrapy crawl parknews -a NAME=VALUE`, checked before anything starts."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from crawler.middlewares.replay import DEMO_ARCHIVE, ArchiveError, check_archive
from crawler.sites import ProfileError, SiteProfile, SiteRegistry, generic_profile

SPIDER_ARGUMENTS = frozenset({"sites", "since", "max_pages", "replay", "start_url", "full"})


class ArgumentError(ValueError):
    """A spider argument that cannot be used; the message is one line listing valid values."""


@dataclass(frozen=True)
class CrawlPlan:
    """The spider arguments, parsed and checked."""

    profiles: tuple[SiteProfile, ...]
    since: date | None
    max_pages: int | None
    replay: Path | None
    full: bool = False


def parse_arguments(arguments: dict[str, Any], sites: SiteRegistry) -> CrawlPlan:
    """Check `-a` arguments against the sites a crawl may choose from (`sites`, all of them
    when none are named); ArgumentError with a one-line message for any bad one."""
    unknown = sorted(set(arguments) - SPIDER_ARGUMENTS)
    if unknown:
        raise ArgumentError(
            f"unknown argument {unknown[0]!r}; "
            f"valid arguments: {', '.join(sorted(SPIDER_ARGUMENTS))}"
        )
    start_url = arguments.get("start_url")
    if start_url:
        if arguments.get("sites"):
            raise ArgumentError("use either sites=… or start_url=…, not both")
        try:
            profiles: tuple[SiteProfile, ...] = (generic_profile(str(start_url)),)
        except ProfileError as exc:
            raise ArgumentError(str(exc)) from exc
    else:
        raw = str(arguments.get("sites") or "")
        keys = [k.strip() for k in raw.split(",") if k.strip()] if raw else list(sites)
        try:
            profiles = tuple(sites.select(keys))
        except ProfileError as exc:
            raise ArgumentError(str(exc)) from exc
    since = None
    if arguments.get("since"):
        try:
            since = date.fromisoformat(str(arguments["since"]))
        except ValueError as exc:
            raise ArgumentError(
                f"since must be a date as YYYY-MM-DD, got {arguments['since']!r}"
            ) from exc
    max_pages = None
    if arguments.get("max_pages") not in (None, ""):
        text = str(arguments["max_pages"])
        if not re.fullmatch(r"[1-9]\d*", text):
            raise ArgumentError(f"max_pages must be a whole number of at least 1, got {text!r}")
        max_pages = int(text)
    replay = replay_archive(arguments.get("replay"))
    full_text = str(arguments.get("full") or "0").strip().lower()
    if full_text not in ("0", "1", "true", "false", "yes", "no"):
        raise ArgumentError(f"full must be 1 or 0, got {arguments['full']!r}")
    full = full_text in ("1", "true", "yes")
    return CrawlPlan(profiles=profiles, since=since, max_pages=max_pages, replay=replay, full=full)


def replay_archive(value: Any) -> Path | None:
    """The archive `replay=demo|PATH` names, read through once to be sure it can be
    replayed; ArgumentError naming the file and what is wrong with it."""
    if not value:
        return None
    text = str(value)
    path = DEMO_ARCHIVE if text == "demo" else Path(text).expanduser()
    if not path.is_file():
        raise ArgumentError(
            f"replay must be 'demo' or the path of a WARC file; {str(path)!r} is not a file"
        )
    try:
        check_archive(path)
    except ArchiveError as exc:
        raise ArgumentError(str(exc)) from exc
    except OSError as exc:
        raise ArgumentError(f"replay archive {path} cannot be read: {exc.strerror}") from exc
    return path

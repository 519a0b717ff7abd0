"""Every PARKNEWS_* setting, with its default and what it does: the one place they are declared.

As in Scrapy's own default_settings.py, a setting is a module constant with its default value
and a line of documentation. Override any of them in crawler/settings.py, with
`scrapy crawl parknews -s NAME=VALUE`, or in a spider's custom_settings; those in
ENVIRONMENT_SETTINGS also with an environment variable of the same name, which any of the others
overrides. Components read them through `parknews_settings(crawler.settings)`, which fills in
these defaults (and the environment), so no default is written twice.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import Any

from scrapy.settings import BaseSettings

# --- who we are ---------------------------------------------------------------------------------

PARKNEWS_CONTACT_URL = "https://github.com/parknews/parknews"
"""Where the operators of this crawler can be reached; the default User-Agent names it."""

# --- sites -------------------------------------------------------------------------------------

PARKNEWS_SITES_FILE = ""
"""A TOML file of your own parks, added to the shipped ones (README.md, "Adding a park")."""

# --- output ---------------------------------------------------------------------------------------

PARKNEWS_OUTPUT_DIR = "output"
"""Folder of the run's files: articles/ and duplicates/ (JSONL batches) and runs/ (reports)."""
PARKNEWS_OUTPUT_BATCH_ITEMS = 100
"""Records per output file; each file is committed to the state as soon as it is in place."""

# --- crawl state and incremental runs ----------------------------------------------------------

PARKNEWS_STATE_ENABLED = True
"""Keep a state database between runs: later runs fetch only new articles."""
PARKNEWS_STATE_PATH = "state/parknews.sqlite3"
"""The state database (SQLite); its run lock is the same name plus ".lock"."""
PARKNEWS_STATE_GONE_RETRY_DAYS = 7.0
"""Days before an article link that answered 404 or 410 is asked for again."""
PARKNEWS_INCREMENTAL_RECHECK_PAGES = 0
"""List pages whose articles are all known to read past the first one before paging stops."""

# --- a crawl state shared in Redis ------------------------------------------------------------

REDIS_URL = ""
"""Scrapy setting (scrapy-redis reads it too), else the environment variable of the same name:
the Redis server that keeps the crawl state, as redis://[:password@]host:port/db. Empty: the
state stays in the SQLite file PARKNEWS_STATE_PATH."""
PARKNEWS_REDIS_NAMESPACE = "default"
"""Name of the crawl state in Redis: its keys start with parknews:<namespace>:, and crawls of
different namespaces share nothing."""
PARKNEWS_REDIS_JOIN_SECONDS = 300.0
"""A worker started within this many seconds of the namespace's current run joins it; one
started later while the run goes on exits with status 75 (runs never overlap)."""
PARKNEWS_REDIS_HEARTBEAT_SECONDS = 60.0
"""A worker of a shared crawl silent this long is taken for dead by the others: the run ends
without it (and counts as interrupted); each worker renews its heartbeat six times as often."""
PARKNEWS_POLITENESS_SHARED = True
"""With REDIS_URL set (and no replay), hold each site's CONCURRENT_REQUESTS_PER_DOMAIN and
DOWNLOAD_DELAY across every worker of the namespace, not per worker."""

# --- run verdict ----------------------------------------------------------------------------------

PARKNEWS_RUN_MAX_ERROR_SHARE = 0.1
"""A site fails the run when more than this share of its requests failed..."""
PARKNEWS_RUN_MIN_ERRORS = 3
"""...and at least this many did."""
PARKNEWS_RUN_MIN_FIELD_COVERAGE = 0.9
"""A site fails the run when fewer of its records than this share hold title, date and body."""

# --- downloading ----------------------------------------------------------------------------------

PARKNEWS_RETRY_BASE_DELAY = 1.0
"""Seconds before the first retry of a failed request; each further retry waits twice as long."""
PARKNEWS_RETRY_MAX_DELAY = 60.0
"""Longest wait before a retry, whatever the backoff or the server's Retry-After say."""
PARKNEWS_CHARSET_REPAIR_ENABLED = True
"""Decode again the pages that Scrapy decoded badly (wrong charset declared, mojibake)."""
PARKNEWS_REPLAY_ARCHIVE = ""
"""A WARC file to answer every request from, instead of the network (`-a replay=` sets it)."""
PARKNEWS_RECORD_ARCHIVE = ""
"""A WARC file to record every request and response of the crawl into."""

# --- cleaning, normalisation, duplicates --------------------------------------------------------

PARKNEWS_CLEAN_LEARN_TEMPLATES = True
"""Learn the lines each site repeats on many pages and drop them from bodies."""
PARKNEWS_SCRIPT_KEEP_ORIGINAL = False
"""Keep Traditional-script records in Traditional script instead of converting them."""
PARKNEWS_SCRIPT_SITE_OVERRIDES: dict[str, str] = {}
"""Site key → "keep" or "simplify", overriding PARKNEWS_SCRIPT_KEEP_ORIGINAL for that site."""
PARKNEWS_DEDUP_THRESHOLD = 0.6
"""Estimated similarity (0 to 1) from which a record is a copy of another article. On the
labelled pairs of tests/fixtures/dedup, true copies are at least 0.69 alike and distinct
articles at most 0.46."""


ENVIRONMENT_SETTINGS = frozenset({"PARKNEWS_SITES_FILE"})
"""Settings that an environment variable of the same name sets when no settings source does."""


def redis_url(settings: BaseSettings, environ: Mapping[str, str] = os.environ) -> str:
    """The REDIS_URL of a crawl: the setting, else the environment variable, else ""."""
    return str(settings.get("REDIS_URL") or environ.get("REDIS_URL") or REDIS_URL)


def declared_defaults() -> dict[str, Any]:
    """Every PARKNEWS_* setting of this module with its default."""
    module = sys.modules[__name__]
    return {name: getattr(module, name) for name in dir(module) if name.startswith("PARKNEWS_")}


def parknews_settings(settings: BaseSettings) -> BaseSettings:
    """The PARKNEWS_* settings of `settings`, each one that is not set given the environment
    variable of its name (for ENVIRONMENT_SETTINGS) or its declared default: read them with
    Scrapy's typed getters (getbool, getint, …) and no default."""
    filled = BaseSettings(declared_defaults(), priority="default")
    for name in filled:
        if name in settings:
            filled.set(name, settings[name], priority=settings.getpriority(name) or 0)
        elif name in ENVIRONMENT_SETTINGS and name in os.environ:
            filled.set(name, os.environ[name], priority="default")
    return filled

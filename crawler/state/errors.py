"""Why the crawl state cannot be used, said so that the user knows how to recover."""

from __future__ import annotations

from pathlib import Path

STATE_PATH_SETTING = "PARKNEWS_STATE_PATH"
"""The setting that names the state database (the recovery hints refer to it)."""


class StateError(Exception):
    """The state file cannot be used; the message names it and says how to recover."""


def recovery_hint(path: Path) -> str:
    """How to get going again when the state file at `path` cannot be used."""
    return (
        f"To recover, move the file aside (mv {path} {path}.broken, with any -wal and -shm "
        f"files beside it) and run again: the next run starts from empty state and crawls "
        f"everything, as with full=1. Or point {STATE_PATH_SETTING} at a new file."
    )

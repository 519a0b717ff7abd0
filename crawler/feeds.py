"""Feed storage that never shows a reader a half-written file."""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO, Any

from scrapy.extensions.feedexport import FileFeedStorage

PARTIAL_SUFFIX = ".part"


def put_in_place(file: IO[Any], partial: Path, final: Path) -> None:
    """Flush, fsync and close `file` (open on `partial`), rename it to `final` and fsync the
    folder: once this returns, the finished file is on disk under its final name."""
    file.flush()
    os.fsync(file.fileno())
    file.close()
    os.replace(partial, final)
    directory = os.open(final.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


class AtomicFileFeedStorage(FileFeedStorage):
    """Writes the feed beside its final name as `<name>.part`, fsyncs it and renames it into
    place when the feed is closed, so `output/articles/*.jsonl` only ever holds whole files."""

    stored = False
    """True once the file is on disk under its final name."""

    def open(self, spider: Any) -> IO[Any]:
        final = Path(self.path)
        final.parent.mkdir(parents=True, exist_ok=True)
        self.final_path = final
        self.partial_path = final.with_name(final.name + PARTIAL_SUFFIX)
        return self.partial_path.open(self.write_mode)

    def store(self, file: IO[Any]) -> None:
        put_in_place(file, self.partial_path, self.final_path)
        self.stored = True


class MainFeedFilter:
    """The articles feed: every record that is not a duplicate of another article."""

    def __init__(self, feed_options: dict[str, Any] | None) -> None:
        self.feed_options = feed_options

    def accepts(self, item: Any) -> bool:
        return not item.get("duplicate_of")


class DuplicateFeedFilter(MainFeedFilter):
    """The duplicates feed: records that copy another article (`duplicate_of` set)."""

    def accepts(self, item: Any) -> bool:
        return bool(item.get("duplicate_of"))

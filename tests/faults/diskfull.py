"""A feed storage whose disk fills up part-way through the run, for the output-fault tests.

Enabled in a crawl with `-s FEED_STORAGES={"": "tests.faults.diskfull.FullDiskFeedStorage",
"file": ...}`; `PARKNEWS_TEST_DISK_BYTES` (environment, default 1500) is how many bytes fit.
"""

from __future__ import annotations

import errno
import os
from typing import IO, Any

from crawler.feeds import AtomicFileFeedStorage

DEFAULT_CAPACITY = 1500


class FillingFile:
    """A binary file that accepts `capacity` bytes, writes what still fits of the next
    chunk and then fails every write with ENOSPC, as a full disk does."""

    def __init__(self, file: IO[bytes], capacity: int) -> None:
        self._file = file
        self._room = capacity

    def write(self, data: bytes) -> int:
        if len(data) > self._room:
            self._file.write(data[: self._room])
            self._room = 0
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self._room -= len(data)
        return self._file.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._file, name)


class FullDiskFeedStorage(AtomicFileFeedStorage):
    """The project's atomic feed storage, on a disk with `PARKNEWS_TEST_DISK_BYTES` free."""

    def open(self, spider: Any) -> Any:
        capacity = int(os.environ.get("PARKNEWS_TEST_DISK_BYTES", DEFAULT_CAPACITY))
        return FillingFile(super().open(spider), capacity)

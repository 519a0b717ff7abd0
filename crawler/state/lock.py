"""The run lock: one parknews run at a time per state database."""

from __future__ import annotations

import fcntl
import json
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from crawler.text.dates import utc_now


class AlreadyRunning(Exception):
    """Another run holds the lock; the message names its pid and start time."""

    def __init__(self, path: Path, holder: LockHolder | None) -> None:
        self.path = path
        self.holder = holder
        if holder is None:
            who = "another parknews run"
        else:
            who = f"parknews run pid {holder.pid} on {holder.host}, started {holder.started}"
        super().__init__(
            f"{who} holds the lock {path}; this run exits without crawling. "
            f"Wait for it to finish, or stop that process if it hangs."
        )


def lock_path_for(state_path: str | os.PathLike[str]) -> Path:
    """The lock file beside a state database: its name plus ".lock"."""
    path = Path(state_path)
    return path.with_name(path.name + ".lock")


@dataclass(frozen=True)
class LockHolder:
    """Who holds (or last held) a run lock, as written in the lock file."""

    pid: int
    host: str
    started: str


class RunLock:
    """An exclusive lock on a lock file, held by one run at a time.

    `acquire` takes an `fcntl.flock` lock without waiting and writes the run's pid, host and
    start time into the file; a second run raises `AlreadyRunning` naming the holder. The
    kernel drops the lock when its process dies, however it dies, so the file a killed run
    leaves behind is taken over by the next run (`taken_over` then tells whose it was).
    The file is never deleted: deleting it would let two runs lock two different files.
    flock does not work across NFS clients; keep the state on a local file system.
    """

    def __init__(self, path: str | os.PathLike[str], *, clock: Callable[[], str] = utc_now):
        self.path = Path(path)
        self._clock = clock
        self._fd: int | None = None
        self.taken_over: LockHolder | None = None
        """The previous holder named in the file when this run acquired it after a run that
        died without releasing it; None otherwise."""

    @property
    def held(self) -> bool:
        """Whether this object holds the lock."""
        return self._fd is not None

    def acquire(self) -> None:
        """Take the lock now or raise `AlreadyRunning`."""
        if self._fd is not None:
            raise RuntimeError(f"{self.path} is already held by this RunLock")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            os.close(fd)
            raise AlreadyRunning(self.path, holder) from None
        except BaseException:
            os.close(fd)
            raise
        self.taken_over = _read_holder(fd)
        me = {"pid": os.getpid(), "host": socket.gethostname(), "started": self._clock()}
        payload = (json.dumps(me) + "\n").encode("utf-8")
        os.ftruncate(fd, 0)
        os.pwrite(fd, payload, 0)
        os.fsync(fd)
        self._fd = fd

    def release(self) -> None:
        """Empty the lock file and release the lock (idempotent)."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            os.ftruncate(fd, 0)
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def holder(self) -> LockHolder | None:
        """The holder the lock file names (whether or not it is still alive), or None."""
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            return None
        try:
            return _read_holder(fd)
        finally:
            os.close(fd)

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def _read_holder(fd: int) -> LockHolder | None:
    """The holder recorded in an open lock file, or None when it is empty or unreadable."""
    raw = os.pread(fd, 4096, 0)
    try:
        data = json.loads(raw.decode("utf-8"))
        return LockHolder(int(data["pid"]), str(data["host"]), str(data["started"]))
    except (ValueError, KeyError, TypeError):
        return None

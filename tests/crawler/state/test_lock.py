"""The run lock: one run at a time per state database, taken over from a killed run."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest

from crawler.state.lock import AlreadyRunning, RunLock, lock_path_for
from tests.conftest import run_python


def test_lock_path_is_beside_the_state(tmp_path: Path) -> None:
    assert lock_path_for(tmp_path / "parknews.db") == tmp_path / "parknews.db.lock"


def test_second_lock_fails_at_once_naming_the_holder(tmp_path: Path) -> None:
    path = tmp_path / "parknews.db.lock"
    with RunLock(path) as first:
        assert first.held
        holder = json.loads(path.read_text())
        assert holder["pid"] == os.getpid()
        with pytest.raises(AlreadyRunning) as error:
            RunLock(path).acquire()
        assert f"pid {os.getpid()}" in str(error.value) and str(path) in str(error.value)
        assert error.value.holder is not None and error.value.holder.pid == os.getpid()
    assert not first.held
    assert path.read_text() == ""  # released cleanly: nobody to take over from
    with RunLock(path) as again:
        assert again.taken_over is None


def test_lock_of_a_killed_run_is_taken_over(tmp_path: Path) -> None:
    path = tmp_path / "parknews.db.lock"
    child = run_python(
        """
        import sys, time
        from crawler.state.lock import RunLock
        lock = RunLock(sys.argv[1])
        lock.acquire()
        print("locked", flush=True)
        time.sleep(120)
        """,
        str(path),
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "locked"
        with pytest.raises(AlreadyRunning, match=f"pid {child.pid}"):
            RunLock(path).acquire()
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        child.communicate()
    lock = RunLock(path)
    assert lock.holder() is not None  # the dead run's note is still in the file
    with lock:
        assert lock.taken_over is not None and lock.taken_over.pid == child.pid
        assert json.loads(path.read_text())["pid"] == os.getpid()


def test_lock_is_not_reentrant_on_one_object(tmp_path: Path) -> None:
    lock = RunLock(tmp_path / "x.lock")
    with lock, pytest.raises(RuntimeError, match="already held"):
        lock.acquire()
    lock.release()  # idempotent

"""Output faults: a folder that cannot be written and a disk that fills up end the run with a
non-zero status and a clear error, never leave a finished file that is not whole, and do not
advance the crawl state (a later run still finds every article new)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from crawler.validate import validate_lines
from tests.sitesrv import FAULT_HOST, FAULTS_DIR, RequestLog, crawl_env, serve

pytestmark = pytest.mark.crawl

REPO = Path(__file__).resolve().parents[2]
CATALOGUE = json.loads((FAULTS_DIR / FAULT_HOST / "_catalogue.json").read_text("utf-8"))
HEALTHY = set(CATALOGUE["healthy"])
# The five healthy records take about 7 KB: a disk with 4 KB free fills up during the run.
DISK_BYTES = 4096
# Starts the crawl with a file-size limit: every write past it fails (EFBIG), state included.
SIZE_LIMITED = (
    "import os, resource, signal, sys\n"
    "limit = int(sys.argv[1])\n"
    "resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))\n"
    "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
    "os.execv(sys.executable, [sys.executable, *sys.argv[2:]])\n"
)


@dataclass
class Run:
    returncode: int
    stderr: str
    output_dir: Path
    article_requests: int


@pytest.fixture(scope="module")
def fault_server() -> Iterator[tuple[str, RequestLog]]:
    log = RequestLog()
    with serve(FAULTS_DIR, log=log) as proxy:
        yield proxy, log


def crawl(
    server: tuple[str, RequestLog],
    output_dir: Path,
    state: Path,
    launcher: list[str] | None = None,
) -> Run:
    """Crawl the healthy list of faults.test into `output_dir` with the state database
    `state` (the records are not read); `launcher` replaces the interpreter."""
    proxy, log = server
    arguments = [
        "-m",
        "scrapy",
        "crawl",
        "parknews",
        "-a",
        f"start_url={CATALOGUE['healthy_list']}",
        "-s",
        f"PARKNEWS_OUTPUT_DIR={output_dir}",
        "-s",
        f"PARKNEWS_STATE_PATH={state}",
        "-s",
        "DOWNLOAD_DELAY=0",
        "-s",
        "AUTOTHROTTLE_ENABLED=False",
    ]
    before = len(log.requests())
    done = subprocess.run(
        [*(launcher or [sys.executable]), *arguments],
        cwd=REPO,
        env=crawl_env(proxy),
        capture_output=True,
        text=True,
        timeout=120,
    )
    fetched = [s for s in log.requests()[before:] if s.path.startswith("/news/202401/")]
    return Run(done.returncode, done.stderr, output_dir, len(fetched))


def finished_files(output_dir: Path) -> list[Path]:
    return sorted(output_dir.rglob("*.jsonl")) if output_dir.is_dir() else []


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "ERROR" in line or "error:" in line]


def assert_state_did_not_advance(server: tuple[str, RequestLog], state: Path, tmp: Path) -> None:
    """A second run with the same state and a sound output folder finds every article new."""
    again = crawl(server, tmp / "second-output", state)
    assert again.returncode == 0, again.stderr[-2000:]
    urls = set()
    for path in finished_files(again.output_dir / "articles"):
        urls |= {json.loads(line)["url"] for line in path.read_text("utf-8").splitlines()}
    assert urls == HEALTHY


# --- an output folder that cannot be created -----------------------------------------------


@pytest.fixture(scope="module")
def blocked_run(
    fault_server: tuple[str, RequestLog], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Run, Path]:
    """A crawl whose output folder would sit under a regular file (root writes anywhere
    else, so permissions cannot stand in for this), and its state database."""
    base = tmp_path_factory.mktemp("blocked")
    blocker = base / "not-a-folder"
    blocker.write_text("a file where the output folder should be\n", "utf-8")
    state = base / "state" / "parknews.sqlite3"
    return crawl(fault_server, blocker / "output", state), state


def test_an_unwritable_output_folder_fails_the_run(blocked_run: tuple[Run, Path]) -> None:
    run, _ = blocked_run
    assert run.returncode != 0, run.stderr[-2000:]
    assert any(str(run.output_dir) in line for line in error_lines(run.stderr))
    assert "Not a directory" in run.stderr
    assert finished_files(run.output_dir.parent) == []


def test_an_unwritable_output_folder_is_refused_before_crawling(
    blocked_run: tuple[Run, Path],
) -> None:
    run, _ = blocked_run
    assert run.article_requests == 0
    assert "Traceback" not in run.stderr
    assert len(error_lines(run.stderr)) == 1


def test_an_unwritable_output_folder_leaves_the_state_alone(
    blocked_run: tuple[Run, Path],
    fault_server: tuple[str, RequestLog],
    tmp_path: Path,
) -> None:
    _, state = blocked_run
    assert_state_did_not_advance(fault_server, state, tmp_path)


# --- a disk that fills up during the run ---------------------------------------------------


@pytest.fixture
def small_tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A tmpfs with DISK_BYTES of room, mounted for the test (skipped where mounting is not
    allowed: it needs root with CAP_SYS_ADMIN)."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    if shutil.which("mount") is None:
        pytest.skip("no mount command")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={DISK_BYTES}", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", str(mount_point)], check=False)


def assert_nothing_unfinished_committed(run: Run) -> None:
    # Nothing finished was left but whole files: a reader of articles/*.jsonl never sees a
    # cut-short run, and this run's records are not among them.
    for path in finished_files(run.output_dir):
        assert validate_lines(path) == []
    assert finished_files(run.output_dir / "articles") == []


def test_a_disk_filling_up_fails_the_run_commits_nothing_and_keeps_the_state(
    fault_server: tuple[str, RequestLog], small_tmpfs: Path, tmp_path: Path
) -> None:
    state = tmp_path / "state" / "parknews.sqlite3"
    run = crawl(fault_server, small_tmpfs / "output", state)
    assert run.returncode != 0, run.stderr[-2000:]
    assert "No space left on device" in run.stderr
    assert "Traceback" not in run.stderr
    assert any(str(run.output_dir) in line for line in error_lines(run.stderr))
    assert_nothing_unfinished_committed(run)
    assert_state_did_not_advance(fault_server, state, tmp_path)


def test_a_write_limit_on_everything_fails_the_run_and_commits_nothing(
    fault_server: tuple[str, RequestLog], tmp_path: Path
) -> None:
    launcher = [sys.executable, "-c", SIZE_LIMITED, str(DISK_BYTES)]
    run = crawl(fault_server, tmp_path / "output", tmp_path / "state.sqlite3", launcher)
    assert run.returncode != 0, run.stderr[-2000:]
    assert error_lines(run.stderr), run.stderr[-2000:]
    assert_nothing_unfinished_committed(run)

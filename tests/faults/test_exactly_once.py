"""Exactly once, whatever stops a run: a kill in any window of the output batch protocol, a
stop during the mirror phase, unwritable folders, Ctrl-C, SIGTERM, and a damaged state file.

The crawls replay the demo archive (offline, the same every time); kills are placed with
`tests.faults.killer.KillAt` at an exact point of the batch protocol, never by timing.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO, read_records
from tests.sitesrv import crawl_command

pytestmark = pytest.mark.crawl

DEMO_ARTICLES = 73
DEMO_DUPLICATES = 6
PROJECT_EXTENSIONS = {
    "crawler.extensions.report.RunReport": 500,
    "crawler.extensions.crawlstate.CrawlState": 510,
}
BEFORE_THE_STATE = 505
"""Order of a killer whose handler runs before the crawl state's."""
AFTER_THE_STATE = 600
"""Order of a killer whose handler runs after the crawl state's."""


def replay(
    output: Path,
    *arguments: str,
    kill_at: str | None = None,
    order: int = 0,
    batch: int = 5,
    kill_signal: str = "SIGKILL",
) -> subprocess.CompletedProcess[str]:
    """Replay the demo archive into `output` (state beside it), in batches of `batch`; with
    `kill_at`, a killer placed by `order` sends `kill_signal` at that point."""
    extra = ["-s", f"PARKNEWS_OUTPUT_BATCH_ITEMS={batch}"]
    env = dict(os.environ)
    if kill_at:
        extensions = {**PROJECT_EXTENSIONS, "tests.faults.killer.KillAt": order}
        extra += ["-s", f"EXTENSIONS={json.dumps(extensions)}"]
        env["PARKNEWS_TEST_KILL_AT"] = kill_at
        env["PARKNEWS_TEST_KILL_SIGNAL"] = kill_signal
    command = crawl_command(output, "-a", "replay=demo", *extra, *arguments)
    return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)


def assert_written_once(output: Path, articles: int, duplicates: int) -> None:
    """Every article in the main feed once, every copy in the duplicates feed once, and no
    article a duplicate of itself."""
    main = read_records(output / "articles")
    copies = read_records(output / "duplicates")
    twice = [url for url, n in Counter(r["url"] for r in main + copies).items() if n > 1]
    assert twice == []
    assert len(main) == articles
    assert len(copies) == duplicates
    assert [r["url"] for r in copies if r["duplicate_of"] == r["id"]] == []
    assert {r["duplicate_of"] for r in copies} <= {r["id"] for r in main}
    assert list(output.glob("*/*.part")) == []


@pytest.mark.parametrize(
    ("kill_at", "order"),
    [
        # The file has its final name, its records are not committed yet.
        ("feed_slot_closed:articles:1", BEFORE_THE_STATE),
        ("feed_slot_closed:articles:3", BEFORE_THE_STATE),
        # The records are staged, the file is whole but has no final name yet.
        ("batch_ready:articles:2", AFTER_THE_STATE),
        # A batch of duplicates just put in place while originals are still being written.
        ("feed_slot_closed:duplicates:1", AFTER_THE_STATE),
    ],
    ids=["renamed-not-committed", "third-batch", "staged-not-renamed", "mirror-phase"],
)
def test_a_killed_run_and_the_next_write_every_article_once(
    tmp_path: Path, kill_at: str, order: int
) -> None:
    output = tmp_path / "out"
    killed = replay(output, kill_at=kill_at, order=order)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    rerun = replay(output)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert "Traceback" not in rerun.stderr
    assert_written_once(output, DEMO_ARTICLES, DEMO_DUPLICATES)


def test_originals_are_never_written_as_duplicates_of_themselves(tmp_path: Path) -> None:
    """The mirror phase of binjiang alone: 24 originals, their 6 copies, batches of 5."""
    output = tmp_path / "out"
    sites = ("-a", "sites=binjiang,binjiang_mirror")
    killed = replay(output, *sites, kill_at="feed_slot_closed:duplicates:1", order=600)
    assert killed.returncode == -signal.SIGKILL
    assert replay(output, *sites, "-a", "full=1").returncode == 0
    main = read_records(output / "articles")
    binjiang = {r["url"] for r in main if r["site"] == "binjiang"}
    assert len(binjiang) == len([r for r in main if r["site"] == "binjiang"]) == 24
    copies = read_records(output / "duplicates")
    assert all(r["duplicate_of"] != r["id"] for r in copies)


def test_a_second_run_within_the_same_second_replaces_no_file(tmp_path: Path) -> None:
    output = tmp_path / "out"
    killed = replay(output, kill_at="feed_slot_closed:articles:2", order=BEFORE_THE_STATE)
    assert killed.returncode == -signal.SIGKILL
    names = {p.name for p in (output / "articles").glob("*.jsonl")}
    assert replay(output).returncode == 0
    assert names <= {p.name for p in (output / "articles").glob("*.jsonl")}
    assert_written_once(output, DEMO_ARTICLES, DEMO_DUPLICATES)


# --- folders that cannot be written ----------------------------------------------------------


@pytest.mark.parametrize("folder", ["articles", "duplicates", "runs"])
@pytest.mark.parametrize("fault", ["read-only", "not a folder"])
def test_an_unwritable_output_folder_stops_the_run_before_it_starts(
    tmp_path: Path, folder: str, fault: str
) -> None:
    if fault == "read-only" and os.geteuid() == 0:
        pytest.skip("root writes to read-only folders")
    output = tmp_path / "out"
    output.mkdir()
    if fault == "read-only":
        (output / folder).mkdir()
        (output / folder).chmod(0o500)
    else:
        (output / folder).write_text("a file where the folder should be")
    try:
        done = replay(output)
    finally:
        if fault == "read-only":
            (output / folder).chmod(0o700)
    assert done.returncode == 73
    assert f"cannot write to the output folder {output / folder}" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (output / "state.sqlite3").exists()


# --- interruptions ---------------------------------------------------------------------------


def slow_crawl(output: Path) -> subprocess.Popen[str]:
    """The demo replayed one request every half second: a run long enough to interrupt."""
    command = crawl_command(
        output,
        "-a",
        "replay=demo",
        "-s",
        "DOWNLOAD_DELAY=0.5",
        "-s",
        "CONCURRENT_REQUESTS_PER_DOMAIN=1",
        "-s",
        "PARKNEWS_OUTPUT_BATCH_ITEMS=5",
    )
    # The spider turns politeness off for a replay; these settings win over that.
    command += ["-s", "RANDOMIZE_DOWNLOAD_DELAY=False"]
    return subprocess.Popen(
        command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )


def wait_for_records(output: Path, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if list((output / "articles").glob("*.jsonl")):
            return
        time.sleep(0.1)
    raise AssertionError("no output file appeared")


def run_report(output: Path) -> dict[str, Any]:
    (path,) = (output / "runs").glob("*.json")
    report: dict[str, Any] = json.loads(path.read_text("utf-8"))
    return report


def test_sigterm_is_an_interrupted_run_that_blames_no_site(tmp_path: Path) -> None:
    output = tmp_path / "out"
    process = slow_crawl(output)
    wait_for_records(output)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr[-3000:]
    report = run_report(output)
    assert report["interrupted"] is True and report["exit_status"] == 130
    assert all(site["problems"] == [] for site in report["sites"].values())
    assert "Run interrupted" in stderr and "Site " not in stderr
    assert replay(output).returncode == 0
    assert_written_once(output, DEMO_ARTICLES, DEMO_DUPLICATES)


def test_a_stop_in_the_mirror_phase_is_interrupted_and_loses_no_copy(tmp_path: Path) -> None:
    output = tmp_path / "out"
    stopped = replay(
        output,
        kill_at="feed_slot_closed:duplicates:1",
        order=AFTER_THE_STATE,
        kill_signal="SIGTERM",
    )
    assert stopped.returncode == 130, stopped.stderr[-3000:]
    assert replay(output).returncode == 0
    assert_written_once(output, DEMO_ARTICLES, DEMO_DUPLICATES)


def test_two_ctrl_c_exit_interrupted(tmp_path: Path) -> None:
    """The second Ctrl-C stops the reactor at once: the run is never judged."""
    output = tmp_path / "out"
    stopped = replay(
        output, kill_at="batch_ready:articles:2", order=AFTER_THE_STATE, kill_signal="SIGINT,SIGINT"
    )
    assert stopped.returncode == 130, stopped.stderr[-3000:]
    assert "forcing unclean shutdown" in stopped.stderr
    assert "stopped before its end" in stopped.stderr.strip().splitlines()[-1]
    assert replay(output).returncode == 0
    assert_written_once(output, DEMO_ARTICLES, DEMO_DUPLICATES)


# --- a damaged state file --------------------------------------------------------------------


def damage_page(state: Path, table_or_index: str) -> None:
    """Overwrite the root page of a table or index of the state file with garbage."""
    with sqlite3.connect(state) as db:
        page_size = db.execute("PRAGMA page_size").fetchone()[0]
        root = db.execute(
            "SELECT rootpage FROM sqlite_master WHERE name = ?", (table_or_index,)
        ).fetchone()[0]
    with state.open("r+b") as file:
        file.seek((root - 1) * page_size)
        file.write(b"\xff" * page_size)


@pytest.mark.parametrize("damaged", ["articles", "articles_content_hash", "articles_id"])
def test_a_damaged_state_file_stops_the_run_with_a_way_out(tmp_path: Path, damaged: str) -> None:
    output = tmp_path / "out"
    assert replay(output, batch=100).returncode == 0
    damage_page(output / "state.sqlite3", damaged)
    done = replay(output)
    assert done.returncode == 65, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    line = done.stderr.strip().splitlines()[-1]
    assert "state.sqlite3" in line and "damaged" in line and "move the file aside" in line


def test_an_empty_state_file_beside_earlier_output_is_refused(tmp_path: Path) -> None:
    output = tmp_path / "out"
    assert replay(output, batch=100).returncode == 0
    state = output / "state.sqlite3"
    state.write_bytes(b"")
    done = replay(output)
    assert done.returncode == 65
    assert "is empty" in done.stderr and f"rm {state}" in done.stderr
    state.unlink()  # how a user starts afresh on purpose
    assert replay(output, "-a", "full=1").returncode == 0

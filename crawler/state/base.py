"""What the crawl's components use of a state store, whichever backend keeps it: SQLite
(`crawler.state.store`) for one host, Redis (`crawler.state.redisstore`) for workers that
share a crawl."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Protocol, TypeVar

from crawler.state.articles import ArticleState, CommitResult
from crawler.state.errors import StateError


@dataclass(frozen=True)
class RunInfo:
    """One entry of the run log."""

    run_id: int
    started: str
    finished: str | None
    status: str
    exit_code: int | None
    report: dict[str, Any] | None


ClosingT = TypeVar("ClosingT", bound="Closing")


class Closing:
    """A store used as a context manager: `with` closes it at the end."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self: ClosingT) -> ClosingT:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class StateBackend(Protocol):
    """The crawl state between runs. Both backends give every method the same meaning; the
    docstrings of `crawler.state.store.StateStore` say what each does. A backend raises
    `StateError` (naming where the state is and how to recover) when it cannot be used."""

    def check_integrity(self) -> None: ...

    def close(self) -> None: ...

    def __enter__(self) -> StateBackend: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    # -- articles
    def known(self, keys: Iterable[str]) -> set[str]: ...

    def gone(
        self, keys: Iterable[str], *, retry_days: float, now: str | None = None
    ) -> set[str]: ...

    def mark_gone(self, url: str, status: int) -> None: ...

    def get(self, key: str) -> ArticleState | None: ...

    def find_by_content_hash(self, content_hash: str) -> ArticleState | None: ...

    def article_count(self) -> int: ...

    def recent_article_count(
        self, site: str, *, days: float = 30.0, now: str | None = None
    ) -> int: ...

    def iter_signatures(self) -> Iterator[tuple[str, bytes]]: ...

    def near_duplicates(self, sig: bytes, threshold: float) -> list[tuple[str, float]]: ...

    def commit_written(
        self, records: Iterable[Mapping[str, Any]], *, run_id: int | None = None
    ) -> CommitResult: ...

    # -- output batches
    def stage_batch(self, path: str, records: Iterable[Mapping[str, Any]]) -> None: ...

    def commit_batch(self, path: str, *, run_id: int | None = None) -> CommitResult: ...

    def discard_batch(self, path: str) -> None: ...

    def staged_batches(self) -> list[str]: ...

    # -- section walks
    def walk_complete(self, site: str, section_url: str) -> bool | None: ...

    def mark_walks(self, walks: Iterable[tuple[str, str]], *, complete: bool) -> None: ...

    # -- site templates
    def load_templates(self) -> dict[str, Any]: ...

    def bad_template(self, site: str, problem: str) -> StateError: ...

    def update_templates(self, change: Callable[[dict[str, Any]], Mapping[str, Any]]) -> None: ...

    # -- runs
    def start_run(self) -> int: ...

    def finish_run(
        self,
        run_id: int,
        *,
        status: str,
        exit_code: int,
        report: Mapping[str, Any] | None = None,
    ) -> None: ...

    def runs(self, limit: int = 20) -> list[RunInfo]: ...


def check_final_status(status: str) -> None:
    """ValueError for a run's end logged as still running."""
    if status == "running":
        raise ValueError("finish_run needs a final status, not 'running'")


def template_payloads(
    stored: Iterable[tuple[str, str]], bad: Callable[[str, str], StateError]
) -> dict[str, Any]:
    """{site: payload} of stored (site, JSON text) pairs; `bad(site, problem)` makes the
    error raised for a payload that is not JSON."""
    sites: dict[str, Any] = {}
    for site, payload in stored:
        try:
            sites[site] = json.loads(payload)
        except json.JSONDecodeError as exc:
            raise bad(site, str(exc)) from None
    return sites


def malformed_templates(site: str, where: object, problem: str, delete: str) -> StateError:
    """The error for stored template counts of `site` in `where` that cannot be used:
    `problem`, and the command that deletes them."""
    return StateError(
        f"the template counts of site {site!r} in {where} are malformed ({problem}). "
        f"Delete them to start counting afresh: {delete}"
    )


def template_json(payload: Any) -> str:
    """A site's template counts as the store keeps them."""
    return json.dumps(payload, separators=(",", ":"), sort_keys=True)


def report_json(report: Mapping[str, Any] | None) -> str | None:
    """A run's report as the run log keeps it."""
    return None if report is None else json.dumps(report, ensure_ascii=False, default=str)

"""Checking JSONL output: every line one complete JSON object valid against the record schema.

`validate_paths` is what `parknews validate PATH...` runs: it prints "path:line: message" for
each bad line, "path: message" for an empty file, and a summary, and returns the exit status
(0 all valid, 1 bad lines or an empty file, 2 a path that cannot be read).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from crawler.items import record_schema
from crawler.urls import record_id

MAX_MESSAGES_PER_LINE = 5
"""Schema violations reported for one line; a line this broken needs no longer list."""
MAX_MESSAGE_CHARS = 200
"""Longest schema message kept whole; longer ones quote a long bad value, cut here."""
OUTPUT_SUFFIX = ".jsonl"
EMPTY_FILE = "empty file: parknews writes no output file for a run without records"


class ValidationUnreadable(OSError):
    """A path that cannot be read as output (missing, unreadable, or a folder of no files)."""


@dataclass(frozen=True)
class Problem:
    """One bad line of a JSONL file."""

    line_no: int
    """1-based line number; 0 when the problem is the file as a whole."""
    message: str
    """What is wrong, in one line."""


def schema_validator() -> Draft202012Validator:
    """A validator of the record schema (build once, use for many records)."""
    return Draft202012Validator(record_schema())


def _location(error: ValidationError) -> str:
    parts = [str(part) for part in error.absolute_path]
    return "/".join(parts) if parts else "record"


def _shorten(text: str) -> str:
    return text if len(text) <= MAX_MESSAGE_CHARS else text[: MAX_MESSAGE_CHARS - 1] + "…"


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


JSON_TYPES = {list: "an array", str: "a string", int: "a number", float: "a number", bool: "true"}


def _json_kind(value: object) -> str:
    if value is None:
        return "null"
    if value is False:
        return "false"
    return JSON_TYPES.get(type(value), type(value).__name__)


def record_problems(record: object, validator: Draft202012Validator | None = None) -> list[str]:
    """What is wrong with one decoded line (empty when it is a valid record)."""
    if not isinstance(record, dict):
        return [f"{_json_kind(record)}, not a JSON object"]
    validator = validator or schema_validator()
    errors = sorted(validator.iter_errors(record), key=lambda e: list(map(str, e.absolute_path)))
    messages = [f"{_location(e)}: {_shorten(e.message)}" for e in errors]
    if len(messages) > MAX_MESSAGES_PER_LINE:
        hidden = len(messages) - MAX_MESSAGES_PER_LINE
        messages = [*messages[:MAX_MESSAGES_PER_LINE], f"… and {hidden} more schema errors"]
    canonical, given = record.get("canonical_url"), record.get("id")
    # A revision keeps the id its article was first written with, whatever URL it came by.
    first_written = record.get("revision") in (None, 1)
    if (
        first_written
        and isinstance(canonical, str)
        and isinstance(given, str)
        and record_id(canonical) != given
    ):
        messages.append(f"id: {given!r} is not the id of canonical_url ({record_id(canonical)})")
    return messages


def line_problems(raw: bytes, validator: Draft202012Validator | None = None) -> list[str]:
    """What is wrong with one line's bytes, its line end removed."""
    if not raw.strip():
        return ["blank line (every line must be one record)"]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return [f"not UTF-8: byte 0x{raw[exc.start]:02x} at column {exc.start + 1}"]
    try:
        record = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        return [f"not JSON: {exc.msg} at column {exc.colno}"]
    except ValueError as exc:
        return [f"not JSON: {exc}"]
    except RecursionError:
        return ["not JSON this reader accepts: nested too deeply"]
    return record_problems(record, validator)


def _lines(path: Path) -> Iterator[tuple[int, bytes, bool]]:
    """(line number, bytes without the line end, whether the line was ended) of a file."""
    with path.open("rb") as stream:
        for number, raw in enumerate(stream, start=1):
            ended = raw.endswith(b"\n")
            yield number, raw.rstrip(b"\r\n") if ended else raw, ended


def validate_lines(path: Path | str) -> list[Problem]:
    """The bad lines of one JSONL file, in order; OSError when it cannot be read.

    A line is bad when it is blank, not UTF-8, not JSON, JSON that is not an object, a record
    that breaks the schema, or whose id does not match its canonical_url. A last line with no
    line end is reported too: parknews ends every record with one, so the file was cut short
    (a full disk, a killed run) even when the fragment happens to parse. So is a file with no
    lines at all, as line 0: parknews writes no file for a run without records (its feeds do
    not store empty files), so an empty one was emptied or made by something else.
    """
    return _check(Path(path))[1]


def _check(path: Path) -> tuple[int, list[Problem]]:
    """(lines read, problems) of one JSONL file."""
    validator = schema_validator()
    problems: list[Problem] = []
    count = 0
    for count, raw, ended in _lines(path):
        messages = line_problems(raw, validator)
        if not ended:
            messages.insert(0, "last line has no line end: the file was cut short")
        problems.extend(Problem(count, message) for message in messages)
    if not count:
        problems.append(Problem(0, EMPTY_FILE))
    return count, problems


def output_files(path: Path) -> list[Path]:
    """The JSONL files a path names: the file itself, or every `*.jsonl` under a folder."""
    if path.is_dir():
        found = sorted(p for p in path.rglob(f"*{OUTPUT_SUFFIX}") if p.is_file())
        if not found:
            raise ValidationUnreadable(f"no {OUTPUT_SUFFIX} files under this folder")
        return found
    if not path.exists():
        raise ValidationUnreadable("no such file or folder")
    return [path]


def validate_paths(paths: Iterable[Path | str], out: TextIO | None = None) -> int:
    """Check files (or folders of `*.jsonl` files); print "path:line: message" for each bad line,
    "path: message" for an empty file, "path: cannot read: reason" for a path that cannot be
    read, then one summary line.

    Returns 0 when every line is valid, 1 when some line is bad or some file empty, 2 when a
    path cannot be read (2 wins over 1).
    """
    stream = out if out is not None else sys.stdout
    files = lines = lines_bad = files_empty = 0
    unreadable = False
    for given in paths:
        path = Path(given)
        try:
            targets = output_files(path)
        except OSError as exc:
            print(f"{path}: cannot read: {exc.strerror or exc}", file=stream)
            unreadable = True
            continue
        for target in targets:
            try:
                read, problems = _check(target)
            except OSError as exc:
                print(f"{target}: cannot read: {exc.strerror or exc}", file=stream)
                unreadable = True
                continue
            files += 1
            lines += read
            for problem in problems:
                where = f"{target}:{problem.line_no}" if problem.line_no else str(target)
                print(f"{where}: {problem.message}", file=stream)
            lines_bad += len({problem.line_no for problem in problems if problem.line_no})
            if not read:
                files_empty += 1
    faults = [
        f"{lines_bad} bad line{'s' * (lines_bad != 1)}" if lines_bad else "",
        f"{files_empty} empty file{'s' * (files_empty != 1)}" if files_empty else "",
    ]
    verdict = ", ".join(fault for fault in faults if fault) or "all valid"
    unread = ", some paths could not be read" if unreadable else ""
    checked = f"{files} file{'s' * (files != 1)}, {lines} line{'s' * (lines != 1)}"
    print(f"checked {checked}: {verdict}{unread}", file=stream)
    if unreadable:
        return 2
    return 1 if lines_bad or files_empty else 0

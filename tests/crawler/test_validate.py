"""`crawler.validate`: every bad line of a JSONL output file is named by path and line number."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from crawler.offline import PageProcessor
from crawler.urls import record_id
from crawler.validate import EMPTY_FILE, Problem, validate_lines, validate_paths
from tests.conftest import golden_records, page_file

URL = "http://www.sipac.gov.cn/szgyyq/yqyw/202403/t20240315_1034521.shtml"


def good_record(**changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": record_id(URL),
        "url": URL,
        "canonical_url": URL,
        "site": "sipac",
        "site_name": "苏州工业园区管理委员会",
        "section": "园区要闻",
        "title": "园区召开党工委政法工作会议",
        "published_at": "2024-03-15T17:57:00+08:00",
        "source": "园区党政办",
        "author": None,
        "editor": None,
        "photographer": None,
        "body": "会议总结了过去一年的工作。\n会议部署了今年的重点任务。",
        "images": [],
        "attachments": [],
        "language": "zh",
        "fetched_at": "2026-11-25T12:00:00Z",
        "schema_version": 1,
    }
    record.update(changes)
    return record


def line(record: object) -> bytes:
    return json.dumps(record, ensure_ascii=False).encode("utf-8") + b"\n"


def write(tmp_path: Path, *lines: bytes, name: str = "run.jsonl") -> Path:
    path = tmp_path / name
    path.write_bytes(b"".join(lines))
    return path


def test_a_file_of_valid_records_has_no_problems(tmp_path: Path) -> None:
    path = write(tmp_path, line(good_record()), line(good_record(title="另一条新闻标题")))
    assert validate_lines(path) == []


def test_an_empty_file_is_reported_as_a_whole(tmp_path: Path) -> None:
    assert validate_lines(write(tmp_path)) == [Problem(0, EMPTY_FILE)]


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (b"\n", "blank line"),
        (b"   \t\n", "blank line"),
        (b'{"id": \n', "not JSON: Expecting value at column 8"),
        (b"[1, 2]\n", "an array, not a JSON object"),
        (b'"text"\n', "a string, not a JSON object"),
        (b"null\n", "null, not a JSON object"),
        (b"42\n", "a number, not a JSON object"),
        (b'{"a": NaN}\n', "not JSON: NaN is not valid JSON"),
        ("标题".encode("gb18030") + b"\n", "not UTF-8: byte 0xb1 at column 1"),
        (b"[" * 100_000 + b"]" * 100_000 + b"\n", "nested too deeply"),
    ],
)
def test_lines_that_are_not_json_objects_are_named(
    bad: bytes, message: str, tmp_path: Path
) -> None:
    path = write(tmp_path, line(good_record()), bad, line(good_record()))
    problems = validate_lines(path)
    assert [p.line_no for p in problems] == [2]
    assert message in problems[0].message


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"body": ""}, "body: '' should be non-empty"),
        ({"title": "标题<b>加粗</b>"}, "title: "),
        ({"published_at": "2024/03/15"}, "published_at: "),
        ({"site": "Sipac"}, "site: 'Sipac' does not match"),
        ({"extra": 1}, "Additional properties are not allowed ('extra' was unexpected)"),
        ({"images": [{"url": "not a url", "caption": None}]}, "images/0/url: "),
        ({"id": "0" * 20}, "id: '00000000000000000000' is not the id of canonical_url"),
    ],
)
def test_records_that_break_the_schema_are_named_by_field(
    changes: dict[str, Any], message: str, tmp_path: Path
) -> None:
    path = write(tmp_path, line(good_record(**changes)))
    problems = validate_lines(path)
    assert problems and all(p.line_no == 1 for p in problems)
    assert any(message in p.message for p in problems), problems


def test_a_missing_field_is_named(tmp_path: Path) -> None:
    record = good_record()
    del record["body"]
    problems = validate_lines(write(tmp_path, line(record)))
    assert problems == [Problem(1, "record: 'body' is a required property")]


def test_a_record_with_many_errors_gets_a_bounded_list(tmp_path: Path) -> None:
    record = {key: 12345 for key in good_record()}
    problems = validate_lines(write(tmp_path, line(record)))
    assert 1 < len(problems) <= 6
    assert problems[-1].message.startswith("… and ")


def test_a_cut_short_last_line_is_reported(tmp_path: Path) -> None:
    whole = line(good_record())
    path = write(tmp_path, whole, whole[: len(whole) // 2])
    problems = validate_lines(path)
    assert {p.line_no for p in problems} == {2}
    assert "no line end" in problems[0].message
    assert problems[1].message.startswith("not JSON")


def test_a_last_line_without_line_end_is_reported_even_when_it_parses(tmp_path: Path) -> None:
    path = write(tmp_path, line(good_record()), line(good_record()).rstrip(b"\n"))
    assert validate_lines(path) == [Problem(2, "last line has no line end: the file was cut short")]


def test_crlf_line_ends_are_accepted(tmp_path: Path) -> None:
    path = write(tmp_path, line(good_record()).replace(b"\n", b"\r\n"))
    assert validate_lines(path) == []


def test_validate_paths_prints_path_and_line_and_a_summary(tmp_path: Path) -> None:
    good = write(tmp_path, line(good_record()), name="good.jsonl")
    bad = write(tmp_path, line(good_record()), b"{oops\n", line([1]), name="bad.jsonl")
    out = io.StringIO()
    assert validate_paths([good, bad], out=out) == 1
    printed = out.getvalue().splitlines()
    assert printed[0].startswith(f"{bad}:2: not JSON")
    assert printed[1] == f"{bad}:3: an array, not a JSON object"
    assert printed[-1] == "checked 2 files, 4 lines: 2 bad lines"


def test_validate_paths_returns_0_when_all_valid(tmp_path: Path) -> None:
    out = io.StringIO()
    assert validate_paths([write(tmp_path, line(good_record()))], out=out) == 0
    assert out.getvalue() == "checked 1 file, 1 line: all valid\n"


def test_validate_paths_reads_every_jsonl_file_of_a_folder(tmp_path: Path) -> None:
    (tmp_path / "articles").mkdir()
    (tmp_path / "runs").mkdir()
    write(tmp_path / "articles", line(good_record()), name="a.jsonl")
    write(tmp_path / "articles", b"{\n", name="b.jsonl")
    (tmp_path / "runs" / "r.json").write_text("not a record file", "utf-8")
    (tmp_path / "articles" / "c.jsonl.part").write_text("half a run", "utf-8")
    out = io.StringIO()
    assert validate_paths([tmp_path], out=out) == 1
    assert out.getvalue().splitlines() == [
        f"{tmp_path / 'articles' / 'b.jsonl'}:1: not JSON: Expecting property name enclosed in"
        " double quotes at column 2",
        "checked 2 files, 2 lines: 1 bad line",
    ]


def test_validate_paths_returns_1_for_an_empty_file(tmp_path: Path) -> None:
    empty = write(tmp_path, name="empty.jsonl")
    good = write(tmp_path, line(good_record()), name="good.jsonl")
    out = io.StringIO()
    assert validate_paths([empty, good], out=out) == 1
    assert out.getvalue().splitlines() == [
        f"{empty}: {EMPTY_FILE}",
        "checked 2 files, 1 line: 1 empty file",
    ]


def test_validate_paths_counts_empty_files_beside_bad_lines(tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").touch()
    (tmp_path / "b.jsonl").touch()
    write(tmp_path, b"[]\n", name="c.jsonl")
    out = io.StringIO()
    assert validate_paths([tmp_path], out=out) == 1
    assert out.getvalue().splitlines()[-1] == "checked 3 files, 1 line: 1 bad line, 2 empty files"


@pytest.mark.parametrize("kind", ["missing", "empty folder"])
def test_validate_paths_returns_2_for_a_path_it_cannot_read(kind: str, tmp_path: Path) -> None:
    target = tmp_path / "nowhere.jsonl"
    if kind == "empty folder":
        target = tmp_path / "empty"
        target.mkdir()
    bad = write(tmp_path, b"[]\n")
    out = io.StringIO()
    assert validate_paths([target, bad], out=out) == 2
    printed = out.getvalue().splitlines()
    assert printed[0].startswith(f"{target}: cannot read: ")
    assert printed[1] == f"{bad}:1: an array, not a JSON object"
    assert printed[-1].endswith("1 bad line, some paths could not be read")


def test_validate_paths_prints_to_stdout_by_default(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert validate_paths([str(write(tmp_path, line(good_record())))]) == 0
    assert capsys.readouterr().out == "checked 1 file, 1 line: all valid\n"


def test_the_output_of_a_real_extraction_is_valid(tmp_path: Path) -> None:

    expected = next(iter(golden_records().values()))
    record = PageProcessor().record(page_file(expected).read_bytes(), expected["url"])
    assert validate_lines(write(tmp_path, line(record))) == []

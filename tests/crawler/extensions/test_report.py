"""The run report: the verdict a run's figures give, and failures told without a site."""

from __future__ import annotations

from pathlib import Path

import pytest
from scrapy.utils.test import get_crawler

from crawler.extensions.report import ExitStatus, RunReport, verdict, write_atomically
from crawler.sites import SITES


def report_of(tmp_path: Path) -> RunReport:
    crawler = get_crawler(settings_dict={"PARKNEWS_OUTPUT_DIR": str(tmp_path)})
    report = RunReport.from_crawler(crawler)
    report.crawl_planned(profiles={"sipac": SITES["sipac"]}, run_id="r")
    return report


def test_a_failure_told_without_a_site_is_given_to_the_site_that_owns_its_url(
    tmp_path: Path,
) -> None:
    report = report_of(tmp_path)
    report.failure(None, "http://www.sipac.gov.cn/robots.txt", "NotInArchive", unanswered=True)
    report.failure(None, "http://evil.example/x.html", "http_404")
    assert report.sites["sipac"].requests == 1
    assert report.sites["sipac"].errors == [
        {"url": "http://www.sipac.gov.cn/robots.txt", "kind": "NotInArchive"}
    ]
    assert report.run_errors == ["http_404: http://evil.example/x.html"]


def test_the_gravest_verdict_wins() -> None:
    failed = {"sipac": {"problems": ["no list page could be read"]}}
    fine = {"sipac": {"problems": []}}
    assert verdict(fine, "finished", output_failed=False) is ExitStatus.OK
    assert verdict(failed, "finished", output_failed=False) is ExitStatus.SITE_FAILED
    assert verdict(fine, "shutdown", output_failed=False) is ExitStatus.INTERRUPTED
    assert verdict(failed, "state_unusable", output_failed=False) is ExitStatus.STATE
    assert verdict(failed, "shutdown", output_failed=True) is ExitStatus.OUTPUT


def test_an_interrupted_run_judges_no_site(tmp_path: Path) -> None:
    report = report_of(tmp_path)
    finished = report.report("finished")
    assert finished["sites"]["sipac"]["problems"] == ["no list page could be read"]
    interrupted = report.report("shutdown")
    assert interrupted["interrupted"] is True
    assert interrupted["sites"]["sipac"]["problems"] == []
    assert interrupted["exit_status"] == 130


def test_a_report_that_cannot_be_put_in_place_leaves_no_partial_file(tmp_path: Path) -> None:
    target = tmp_path / "runs" / "r.json"
    target.mkdir(parents=True)  # a folder where the report should go: the rename fails
    with pytest.raises(OSError):
        write_atomically(target, "{}\n")
    assert sorted(p.name for p in target.parent.iterdir()) == ["r.json"]

"""The speed report's verdict: full records are held to the target against trafilatura given
the same input, from the page's bytes and from its decoded text alike."""

from __future__ import annotations

from benchmarks.speed import PAGE_SETS, Measurement, verdicts


def measured(**rates: float) -> dict[str, Measurement]:
    names = {
        "record": "parknews record",
        "record_text": "parknews record (text)",
        "extract": "parknews extract",
        "traf": "trafilatura",
        "traf_bytes": "trafilatura (bytes)",
    }
    return {
        names[key]: Measurement(names[key], rate, (rate,) * 3, 1, 1024)
        for key, rate in rates.items()
    }


def test_the_target_is_met_only_when_both_inputs_reach_it() -> None:
    lines, missed = verdicts(
        measured(record=90, record_text=100, extract=120, traf=30, traf_bytes=29),
        PAGE_SETS["real"],
    )
    assert not missed
    assert lines == [
        "- Target parknews ≥ 3x trafilatura's rate: met (full records: 3.10x from the page's "
        "bytes, 3.33x from its decoded text; extraction alone 4.00x)."
    ]


def test_a_short_figure_from_bytes_misses_the_target_though_text_reaches_it() -> None:
    lines, missed = verdicts(
        measured(record=80, record_text=100, extract=120, traf=30, traf_bytes=30),
        PAGE_SETS["real"],
    )
    assert missed
    assert lines[0].startswith(
        "- Target parknews ≥ 3x trafilatura's rate: MISSED (full records: 2.67x"
    )


def test_without_trafilatura_the_target_is_not_checked() -> None:
    lines, missed = verdicts(measured(record=80, record_text=100, extract=120), PAGE_SETS["real"])
    assert not missed
    assert lines == ["- trafilatura was not measured: the speed target was not checked."]

"""Throughput of record normalisation beside OpenCC tw2s conversion alone, on the same text.

Run from the repository root: `python benchmarks/bench_normalise.py [--records N]`.
Prints MB/s (UTF-8 bytes of title + body) for `normalise_record` and for a bare
`OpenCC("tw2s").convert` of the same title and body, and their cost ratio; the
normalisation should cost at most twice the conversion alone.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import opencc  # noqa: E402

from crawler.items import BODY_BLOCKS  # noqa: E402
from pipelines.normalise import normalise_record  # noqa: E402
from pipelines.normalise.pinyin import strip_pinyin_annotations  # noqa: E402
from pipelines.normalise.script import ScriptConverter  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures" / "encoding"
ROUNDS = 3
BUDGET = 2.0


def corpora() -> dict[str, dict[str, Any]]:
    """One record per kind of page, built from the binjiang sample: the mirror's copy with
    pinyin readings (the worst case), the same Traditional text without readings (a Hong
    Kong or Taiwan page) and the Simplified original (what most park sites publish)."""
    mirror = json.loads((FIXTURES / "binjiang-mirror.expected.json").read_text("utf-8"))
    mirror_body = (FIXTURES / "binjiang-mirror.txt").read_text("utf-8").strip()
    base: dict[str, object] = {
        "url": "http://www.example.gov.cn/art/1.html",
        "site": "bench",
        "source": None,
        "author": None,
        "editor": None,
        "photographer": None,
        "section": "新闻",
        "site_name": "示例园区",
        "images": [],
        "attachments": [],
    }
    return {
        "Traditional mirror with pinyin": {
            **base,
            "title": mirror["mirror_title"],
            "body": mirror_body,
        },
        "Traditional page": {
            **base,
            "title": strip_pinyin_annotations(mirror["mirror_title"], min_repeats=0).text,
            "body": strip_pinyin_annotations(mirror_body).text,
        },
        "Simplified page": {**base, "title": mirror["title"], "body": mirror["body"]},
    }


def best_time(work: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(ROUNDS):
        start = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - start)
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=300, help="records per corpus")
    args = parser.parse_args(argv)

    converter = ScriptConverter()
    bare = opencc.OpenCC("tw2s")
    total_norm = total_conv = 0.0
    total_bytes = 0
    print(f"{'corpus':32} {'MB':>6} {'normalise MB/s':>15} {'tw2s MB/s':>10} {'ratio':>6}")
    for name, record in corpora().items():
        records = [dict(record) for _ in range(args.records)]
        size = sum(len((r["title"] + r["body"]).encode("utf-8")) for r in records)

        # The pipelines carry the body as its blocks.
        in_flight = [
            {**{k: v for k, v in r.items() if k != "body"}, BODY_BLOCKS: r["body"].split("\n")}
            for r in records
        ]

        def normalise(records: list[dict[str, Any]] = in_flight) -> None:
            for r in records:
                normalise_record(r, converter=converter)

        def convert(records: list[dict[str, Any]] = records) -> None:
            for r in records:
                bare.convert(r["title"])
                bare.convert(r["body"])

        t_norm, t_conv = best_time(normalise), best_time(convert)
        total_norm += t_norm
        total_conv += t_conv
        total_bytes += size
        print(
            f"{name:32} {size / 1e6:6.2f} {size / t_norm / 1e6:15.2f}"
            f" {size / t_conv / 1e6:10.2f} {t_norm / t_conv:6.2f}"
        )
    ratio = total_norm / total_conv
    print(
        f"{'all':32} {total_bytes / 1e6:6.2f} {total_bytes / total_norm / 1e6:15.2f}"
        f" {total_bytes / total_conv / 1e6:10.2f} {ratio:6.2f}"
    )
    verdict = "within" if ratio <= BUDGET else "OVER"
    print(
        f"normalisation costs {ratio:.2f}x the conversion alone ({verdict} the {BUDGET:g}x budget)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

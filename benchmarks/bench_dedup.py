"""The near-duplicate index at scale: insert rate, query latency, memory, precision and recall.

Run from the repository root: `python benchmarks/bench_dedup.py [--docs N] [--queries Q]`.
N texts (default 20000) are generated from the sentences of the fixture sites' golden
records, each sentence with its figures re-drawn and about one character in seven replaced,
so that texts are distinct while keeping the vocabulary and length of park news (comparison
form, about 300 characters). They are signed and indexed one by one; then Q query texts are
looked up:

- edited copies of indexed texts, which must find their source: a repost (header and footer
  lines, first words reworded), a copy with one sentence half rewritten, a copy with a
  sentence added;
- new texts, which must find nothing;
- templates: an indexed text of figure-heavy sentences with every figure re-drawn, which
  should find nothing (the labelled pairs of tests/fixtures/dedup are the reference for such
  hard cases; this line shows the rate on generated ones).

Prints the insert rate (signature and index separately), query p50/p99 (with and without
computing the query's signature), the resident memory the index added and the peak, and
precision and recall at the threshold. `--persist` also times `to_bytes`, `from_bytes` and
a rebuild from signatures (as from the state store), after the peak is read. The texts are
generated in comparison form: script conversion and pinyin removal (`comparison_text`, about
65 µs per record) are not part of the figures.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import re
import resource
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipelines.dedup import (  # noqa: E402
    BAND_ROWS,
    DEFAULT_THRESHOLD,
    SIGNATURE_SIZE,
    NearDuplicateIndex,
    invariant_text,
    signature,
)
from pipelines.normalise import ScriptConverter  # noqa: E402

SITES = ROOT / "tests" / "fixtures" / "sites"
SUBSTITUTION_RATE = 1 / 7
"""Share of a generated sentence's characters replaced by corpus characters."""
_NUMBER = re.compile(r"\d+")
_SENTENCE_END = re.compile(r"(?<=[。；！？])|\n")


@dataclass
class Corpus:
    """Invariant-form sentences of the fixture corpus and its characters."""

    sentences: list[str]
    figures: list[str]
    """Sentences with three numbers or more."""
    chars: str


def load_corpus() -> Corpus:
    converter = ScriptConverter()
    sentences: set[str] = set()
    for path in sorted(SITES.rglob("*.expected.json")):
        record = json.loads(path.read_text("utf-8"))
        for raw in _SENTENCE_END.split(f"{record['title']}\n{record['body']}"):
            sentence = invariant_text(raw, converter)
            if len(sentence) >= 12:
                sentences.add(sentence)
    ordered = sorted(sentences)
    figures = [s for s in ordered if len(_NUMBER.findall(s)) >= 3]
    chars = "".join(ch for ch in "".join(ordered) if not ch.isdigit())
    return Corpus(ordered, figures, chars)


class Generator:
    """Texts made of corpus sentences with controlled edits, reproducible from a seed."""

    def __init__(self, corpus: Corpus, seed: int) -> None:
        self.corpus = corpus
        self.rng = random.Random(seed)

    def figures(self, sentence: str) -> str:
        rng = self.rng
        return _NUMBER.sub(
            lambda m: str(rng.randrange(1, 10 ** min(len(m.group()) + 1, 6))), sentence
        )

    def scramble(self, sentence: str, rate: float = SUBSTITUTION_RATE) -> str:
        chars = list(self.figures(sentence))
        count = max(1, int(len(chars) * rate))
        for position in self.rng.sample(range(len(chars)), min(count, len(chars))):
            chars[position] = self.rng.choice(self.corpus.chars)
        return "".join(chars)

    def sentences(self, pool: list[str] | None = None) -> list[str]:
        pool = pool or self.corpus.sentences
        return [self.scramble(self.rng.choice(pool)) for _ in range(self.rng.randint(4, 7))]

    def repost(self, parts: list[str]) -> list[str]:
        source = self.rng.choice(["市政府网站", "园区管委会", "日报"])
        header = f"来源{source}发布时间2024{self.rng.randrange(1000, 1231)}"
        first = "本报讯" + parts[0][6:]
        return [header, first, *parts[1:], f"责任编辑{self.scramble('王晓明', 1.0)}"]

    def edit_one(self, parts: list[str]) -> list[str]:
        """One sentence gets a rewritten clause: a run of 30% of its characters replaced."""
        index = self.rng.randrange(len(parts))
        sentence = parts[index]
        length = max(1, int(len(sentence) * 0.3))
        start = self.rng.randrange(len(sentence) - length + 1)
        clause = "".join(self.rng.choice(self.corpus.chars) for _ in range(length))
        edited = sentence[:start] + clause + sentence[start + length :]
        return [*parts[:index], edited, *parts[index + 1 :]]

    def extend(self, parts: list[str]) -> list[str]:
        return [*parts, self.scramble(self.rng.choice(self.corpus.sentences))]

    def template(self, parts: list[str]) -> list[str]:
        return [self.figures(part) for part in parts]


@dataclass
class Query:
    text: str
    expected: str | None
    kind: str


@dataclass
class Timings:
    values: list[float] = field(default_factory=list)

    def percentile(self, share: float) -> float:
        ordered = sorted(self.values)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def rss_mb(field_name: str = "VmRSS") -> float:
    """Resident (VmRSS) or peak resident (VmHWM) memory in MB."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def build(
    args: argparse.Namespace, corpus: Corpus
) -> tuple[NearDuplicateIndex, list[Query], dict[str, float]]:
    gen = Generator(corpus, args.seed)
    positives = args.queries // 2
    templates = args.queries // 5
    sources = set(gen.rng.sample(range(args.docs), min(args.docs, positives)))
    template_sources = set(
        gen.rng.sample(
            sorted(set(range(args.docs)) - sources), min(args.docs - len(sources), templates)
        )
    )
    before = rss_mb()
    index = NearDuplicateIndex(args.threshold, capacity=0 if args.no_capacity else args.docs)
    queries: list[Query] = []
    sign_time = add_time = 0.0
    chars = 0
    edits = (gen.repost, gen.edit_one, gen.extend)
    for n in range(args.docs):
        doc_id = f"doc{n:07d}"
        figure_heavy = n in template_sources
        parts = gen.sentences(corpus.figures if figure_heavy else None)
        text = "".join(parts)
        chars += len(text)
        start = time.perf_counter()
        sig = signature(text)
        middle = time.perf_counter()
        assert sig is not None
        index.add_signature(doc_id, sig)
        add_time += time.perf_counter() - middle
        sign_time += middle - start
        if n in sources:
            edit = edits[len(queries) % len(edits)]
            queries.append(Query("".join(edit(parts)), doc_id, edit.__name__))
        elif figure_heavy:
            queries.append(Query("".join(gen.template(parts)), None, "template"))
        if args.progress and n and n % 100_000 == 0:
            print(f"  {n} docs indexed, RSS {rss_mb():.0f} MB", file=sys.stderr, flush=True)
    for _ in range(args.queries - len(queries)):
        queries.append(Query("".join(gen.sentences()), None, "new"))
    figures = {
        "sign": sign_time,
        "add": add_time,
        "chars": chars / args.docs,
        "index_mb": rss_mb() - before,
    }
    return index, queries, figures


def run_queries(index: NearDuplicateIndex, queries: list[Query]) -> dict[str, Any]:
    total, lookup = Timings(), Timings()
    found: Counter[str] = Counter()
    asked: Counter[str] = Counter()
    false_hits = 0
    for query in queries:
        start = time.perf_counter()
        sig = signature(query.text)
        middle = time.perf_counter()
        assert sig is not None
        hits = index.query_signature(sig)
        end = time.perf_counter()
        total.values.append(end - start)
        lookup.values.append(end - middle)
        best = hits[0][0] if hits else None
        asked[query.kind] += 1
        if query.expected is not None:
            found[query.kind] += best == query.expected
            false_hits += best is not None and best != query.expected
        elif query.kind == "new":
            false_hits += best is not None
        else:
            found[query.kind] += best is not None
    edits = ("repost", "edit_one", "extend")
    true_hits = sum(found[kind] for kind in edits)
    return {
        "p50": total.percentile(0.5),
        "p99": total.percentile(0.99),
        "lookup_p50": lookup.percentile(0.5),
        "lookup_p99": lookup.percentile(0.99),
        "precision": true_hits / max(1, true_hits + false_hits),
        "recall": true_hits / max(1, sum(asked[kind] for kind in edits)),
        "by_kind": {kind: (found[kind], asked[kind]) for kind in (*edits, "template")},
        "new": asked["new"],
    }


def persistence(index: NearDuplicateIndex) -> Iterator[str]:
    start = time.perf_counter()
    data = index.to_bytes()
    dumped = time.perf_counter()
    restored = NearDuplicateIndex.from_bytes(data)
    loaded = time.perf_counter()
    assert len(restored) == len(index)
    del restored
    pairs = ((doc_id, index.signature_of(doc_id) or b"") for doc_id in index)
    rebuilt = NearDuplicateIndex.from_signatures(pairs, capacity=len(index))
    done = time.perf_counter()
    assert len(rebuilt) == len(index)
    yield f"to_bytes       {len(data) / 1e6:.0f} MB in {dumped - start:.1f} s"
    yield f"from_bytes     {loaded - dumped:.1f} s"
    yield f"from_signatures {done - loaded:.1f} s (rebuild, as from StateStore.iter_signatures)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=20_000, help="texts to index (20000)")
    parser.add_argument("--queries", type=int, default=2_000, help="texts to look up (2000)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (1)")
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD)
    parser.add_argument(
        "--no-capacity", action="store_true", help="let the index grow instead of sizing it"
    )
    parser.add_argument("--persist", action="store_true", help="also time persistence")
    parser.add_argument("--progress", action="store_true", help="report every 100000 docs")
    args = parser.parse_args(argv)
    if args.docs < 1 or args.queries < 10:
        parser.error("--docs must be at least 1 and --queries at least 10")

    corpus = load_corpus()
    print(
        f"python {platform.python_version()} on {platform.machine()}; corpus "
        f"{len(corpus.sentences)} sentences ({len(corpus.figures)} figure-heavy); "
        f"{SIGNATURE_SIZE} bins, {SIGNATURE_SIZE // BAND_ROWS} bands of {BAND_ROWS}, "
        f"threshold {args.threshold}"
    )
    started = time.perf_counter()
    index, queries, figures = build(args, corpus)
    built = time.perf_counter() - started
    results = run_queries(index, queries)
    peak = rss_mb("VmHWM")
    per_doc = (figures["sign"] + figures["add"]) / args.docs
    print(
        f"docs           {args.docs} (mean {figures['chars']:.0f} chars), built in {built:.0f} s "
        f"with generation"
    )
    print(
        f"insert         {1 / per_doc:,.0f} docs/s: signature "
        f"{figures['sign'] / args.docs * 1e6:.0f} µs + index "
        f"{figures['add'] / args.docs * 1e6:.0f} µs per doc"
    )
    print(
        f"query          p50 {results['p50'] * 1e3:.2f} ms, p99 {results['p99'] * 1e3:.2f} ms "
        f"(lookup alone: p50 {results['lookup_p50'] * 1e3:.3f} ms, "
        f"p99 {results['lookup_p99'] * 1e3:.3f} ms); {len(queries)} queries"
    )
    print(
        f"memory         index {figures['index_mb']:.0f} MB resident "
        f"({figures['index_mb'] * 1e6 / args.docs:.0f} B/doc), peak RSS {peak:.0f} MB"
    )
    print(
        f"accuracy       precision {results['precision']:.4f}, recall {results['recall']:.4f} "
        f"({results['new']} new texts looked up)"
    )
    for kind, (hits, asked) in results["by_kind"].items():
        label = "matched (should not)" if kind == "template" else "found"
        print(f"  {kind:13}{hits}/{asked} {label}")
    if args.persist:
        for line in persistence(index):
            print(f"persistence    {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Near-duplicate search at scale, as the crawl does it: insert rate, query latency, memory, size.

Run from the repository root: `python benchmarks/bench_dedup.py [--docs N] [--backend B]`.
N texts (default 20000) are generated from the sentences of the fixture sites' golden
records, each sentence with its figures re-drawn and about one character in seven replaced,
so that texts are distinct while keeping the vocabulary and length of park news (comparison
form, about 300 characters). Each is signed and added to the backend:

- `store` (default), what a crawl with a state database uses: a `StateStore` in a fresh
  SQLite file in a temporary folder, committed with `commit_written` in batches of `--batch`
  records (100, as the crawl commits an output batch), each record with the key, id, content
  hash, fingerprint and signature a crawl commits; queries are `StateStore.near_duplicates`;
- `memory`, the baseline: every signature in one in-memory `NearDuplicateIndex` (what a
  crawl without a state database holds, and what every crawl held before the store searched).

Then Q query texts (default 2000) are looked up:

- edited copies of indexed texts, which must find their source: a repost (header and footer
  lines, first words reworded), a copy with one sentence half rewritten, a copy with a
  sentence added;
- new texts, which must find nothing;
- templates: an indexed text of figure-heavy sentences with every figure re-drawn, which
  should find nothing;

and last the labelled pairs of tests/fixtures/dedup: the first text of each pair is added
(one more batch) and the second looked up, among the N others.

Prints the insert rate (signature and backend separately), query p50/p99 (with and without
computing the query's signature), the resident memory the backend added and the process's
peak, the database file's size (store) and precision and recall at the threshold on the
generated edits and on the labelled pairs. `--json` prints the figures as one JSON object
instead. `--persist` (memory) also times `to_bytes`, `from_bytes` and a rebuild from
signatures, after the peak is read. The texts are generated in comparison form: script
conversion and pinyin removal (`comparison_text`, about 65 µs per record) are not part of
the figures. Each backend and size is best run in its own process, so that the peak is its
own: `python -m benchmarks --only dedup` does that.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crawler.default_settings import PARKNEWS_DEDUP_THRESHOLD as DEFAULT_THRESHOLD  # noqa: E402
from crawler.state.store import StateStore  # noqa: E402
from crawler.text.minhash import BAND_ROWS, SIGNATURE_SIZE, fingerprint, signature  # noqa: E402
from pipelines.dedup.index import NearDuplicateIndex  # noqa: E402
from pipelines.dedup.text import comparison_text, invariant_text  # noqa: E402
from pipelines.normalise.script import ScriptConverter  # noqa: E402

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


HOST = "www.example-park.gov.cn"
PAIRS = ROOT / "tests" / "fixtures" / "dedup" / "pairs.jsonl"


class Backend(Protocol):
    """Where signatures go and near duplicates are looked up."""

    def add(self, doc_id: str, key: str, text: str, sig: bytes) -> None: ...

    def flush(self) -> None: ...

    def query(self, sig: bytes) -> list[tuple[str, float]]: ...


class StoreBackend:
    """A state database, committed in batches as a crawl commits its output batches."""

    def __init__(self, folder: Path, threshold: float, batch: int) -> None:
        self.path = folder / "state.sqlite3"
        self.store = StateStore(self.path)
        self.threshold = threshold
        self.batch = batch
        self.pending: list[dict[str, Any]] = []

    def add(self, doc_id: str, key: str, text: str, sig: bytes) -> None:
        self.pending.append(
            {
                "key": key,
                "url": f"http://{key}",
                "id": doc_id,
                "site": "bench",
                "content_hash": hashlib.sha256(text.encode("utf-8")).hexdigest(),
                "fingerprint": fingerprint(sig),
                "signature": sig,
            }
        )
        if len(self.pending) >= self.batch:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            self.store.commit_written(self.pending)
            self.pending.clear()

    def query(self, sig: bytes) -> list[tuple[str, float]]:
        return self.store.near_duplicates(sig, self.threshold)

    def close(self) -> int:
        """Close the store (which checkpoints the WAL) and return the file's size in bytes."""
        self.store.close()
        return sum(
            path.stat().st_size
            for path in self.path.parent.iterdir()
            if path.name.startswith(self.path.name)
        )


class MemoryBackend:
    """One in-memory index of every signature."""

    def __init__(self, threshold: float, capacity: int) -> None:
        self.index = NearDuplicateIndex(threshold, capacity=capacity)

    def add(self, doc_id: str, key: str, text: str, sig: bytes) -> None:
        self.index.add_signature(doc_id, sig)

    def flush(self) -> None:
        pass

    def query(self, sig: bytes) -> list[tuple[str, float]]:
        return self.index.query_signature(sig)


def doc_id_of(n: int) -> tuple[str, str]:
    """The (record id, article key) of generated document `n`, shaped like a crawl's."""
    key = f"{HOST}/xwzx/{n // 1000:04d}/t{n:08d}.shtml"
    return hashlib.sha256(f"http://{key}".encode()).hexdigest()[:20], key


def build(
    args: argparse.Namespace, corpus: Corpus, backend: Backend
) -> tuple[list[Query], dict[str, float]]:
    gen = Generator(corpus, args.seed)
    positives = args.queries // 2
    templates = args.queries // 5
    # Sampled from a range, not a set of every document: the process's peak must not grow
    # with N for reasons of its own.
    chosen = gen.rng.sample(range(args.docs), min(args.docs, positives + templates))
    sources = set(chosen[:positives])
    template_sources = set(chosen[positives:])
    queries: list[Query] = []
    sign_time = add_time = 0.0
    chars = 0
    edits = (gen.repost, gen.edit_one, gen.extend)
    for n in range(args.docs):
        doc_id, key = doc_id_of(n)
        figure_heavy = n in template_sources
        parts = gen.sentences(corpus.figures if figure_heavy else None)
        text = "".join(parts)
        chars += len(text)
        start = time.perf_counter()
        sig = signature(text)
        middle = time.perf_counter()
        assert sig is not None
        backend.add(doc_id, key, text, sig)
        add_time += time.perf_counter() - middle
        sign_time += middle - start
        if n in sources:
            edit = edits[len(queries) % len(edits)]
            queries.append(Query("".join(edit(parts)), doc_id, edit.__name__))
        elif figure_heavy:
            queries.append(Query("".join(gen.template(parts)), None, "template"))
        if args.progress and n and n % 100_000 == 0:
            print(f"  {n} docs added, RSS {rss_mb():.0f} MB", file=sys.stderr, flush=True)
    start = time.perf_counter()
    backend.flush()
    add_time += time.perf_counter() - start
    for _ in range(args.queries - len(queries)):
        queries.append(Query("".join(gen.sentences()), None, "new"))
    return queries, {"sign": sign_time, "add": add_time, "chars": chars / args.docs}


def run_queries(backend: Backend, queries: list[Query]) -> dict[str, Any]:
    total, lookup = Timings(), Timings()
    found: Counter[str] = Counter()
    asked: Counter[str] = Counter()
    false_hits = 0
    for query in queries:
        start = time.perf_counter()
        sig = signature(query.text)
        middle = time.perf_counter()
        assert sig is not None
        hits = backend.query(sig)
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


def labelled_pairs(backend: Backend) -> dict[str, float]:
    """Precision and recall on the labelled pairs, their first texts added among the others: a
    pair is found a duplicate when looking up its second text finds its first."""
    converter = ScriptConverter()
    pairs = [json.loads(line) for line in PAIRS.read_text("utf-8").splitlines()]
    for pair in pairs:
        text = comparison_text(pair["a"], converter)
        sig = signature(text)
        assert sig is not None
        backend.add(f"pair-{pair['id']}", f"pairs.example/{pair['id']}", text, sig)
    backend.flush()
    found: Counter[tuple[bool, bool]] = Counter()
    for pair in pairs:
        sig = signature(comparison_text(pair["b"], converter))
        assert sig is not None
        hits = dict(backend.query(sig))
        found[(f"pair-{pair['id']}" in hits, pair["duplicate"])] += 1
    true_pos = found[(True, True)]
    return {
        "pairs": len(pairs),
        "pairs_precision": true_pos / max(1, true_pos + found[(True, False)]),
        "pairs_recall": true_pos / max(1, true_pos + found[(False, True)]),
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
    yield f"from_signatures {done - loaded:.1f} s (rebuild from signatures)"


def measure(args: argparse.Namespace) -> tuple[dict[str, Any], MemoryBackend | None]:
    """Build the backend, query it, and return the figures (and the memory backend, kept
    for `--persist`)."""
    corpus = load_corpus()
    started = time.perf_counter()
    before = rss_mb()
    with tempfile.TemporaryDirectory(prefix="parknews-bench-dedup-") as folder:
        backend: StoreBackend | MemoryBackend
        if args.backend == "store":
            backend = StoreBackend(Path(folder), args.threshold, args.batch)
        else:
            backend = MemoryBackend(args.threshold, 0 if args.no_capacity else args.docs)
        queries, figures = build(args, corpus, backend)
        built = time.perf_counter() - started
        added_mb = rss_mb() - before
        results = run_queries(backend, queries)
        pairs = labelled_pairs(backend)
        peak = rss_mb("VmHWM")
        size = backend.close() if isinstance(backend, StoreBackend) else None
    per_doc = (figures["sign"] + figures["add"]) / args.docs
    out = {
        "backend": args.backend,
        "docs": args.docs,
        "batch": args.batch if args.backend == "store" else None,
        "queries": len(queries),
        "threshold": args.threshold,
        "mean_chars": figures["chars"],
        "insert_per_s": 1 / per_doc,
        "sign_us": figures["sign"] / args.docs * 1e6,
        "add_us": figures["add"] / args.docs * 1e6,
        "added_mb": added_mb,
        "peak_rss_mb": peak,
        "file_bytes": size,
        "wall_s": time.perf_counter() - started,
        "build_s": built,
        "corpus_sentences": len(corpus.sentences),
        **{k: v for k, v in results.items() if k != "by_kind"},
        "by_kind": {kind: list(pair) for kind, pair in results["by_kind"].items()},
        **pairs,
    }
    return out, backend if isinstance(backend, MemoryBackend) else None


def report(figures: dict[str, Any]) -> Iterator[str]:
    """The figures as the lines the script prints."""
    docs = figures["docs"]
    how = (
        f"state database, commits of {figures['batch']}"
        if figures["backend"] == "store"
        else "in-memory index"
    )
    yield (
        f"docs           {docs} (mean {figures['mean_chars']:.0f} chars) in the {how}, "
        f"built in {figures['build_s']:.0f} s with generation"
    )
    yield (
        f"insert         {figures['insert_per_s']:,.0f} docs/s: signature "
        f"{figures['sign_us']:.0f} µs + {figures['backend']} {figures['add_us']:.0f} µs per doc"
    )
    yield (
        f"query          p50 {figures['p50'] * 1e3:.2f} ms, p99 {figures['p99'] * 1e3:.2f} ms "
        f"(lookup alone: p50 {figures['lookup_p50'] * 1e3:.3f} ms, "
        f"p99 {figures['lookup_p99'] * 1e3:.3f} ms); {figures['queries']} queries"
    )
    yield (
        f"memory         {figures['backend']} {figures['added_mb']:.0f} MB resident "
        f"({figures['added_mb'] * 1e6 / docs:.0f} B/doc), peak RSS {figures['peak_rss_mb']:.0f} MB"
    )
    if figures["file_bytes"] is not None:
        yield (
            f"database       {figures['file_bytes'] / 1e6:.0f} MB "
            f"({figures['file_bytes'] / docs:.0f} B/doc)"
        )
    yield (
        f"accuracy       precision {figures['precision']:.4f}, recall {figures['recall']:.4f} "
        f"({figures['new']} new texts looked up)"
    )
    for kind, (hits, asked) in figures["by_kind"].items():
        label = "matched (should not)" if kind == "template" else "found"
        yield f"  {kind:13}{hits}/{asked} {label}"
    yield (
        f"labelled pairs precision {figures['pairs_precision']:.3f}, recall "
        f"{figures['pairs_recall']:.3f} ({figures['pairs']} pairs, among the {docs} docs)"
    )


SCRIPT = Path(__file__).resolve()
QUICK_SIZES = (20_000,)
FULL_SIZES = (100_000, 1_000_000)
TARGET_DOCS = 1_000_000
TARGET_P99_MS = 5.0
"""Issue target: query p99 (signature and lookup) at TARGET_DOCS documents in the store."""
TARGET_RSS_MB = 2048.0
"""Issue target: peak RSS (MiB) of the process holding TARGET_DOCS documents, under 2 GB."""


def run_alone(backend: str, docs: int) -> dict[str, Any] | str:
    """The figures of one backend and size, measured in a process of its own; the error
    output when it failed."""
    command = [sys.executable, str(SCRIPT), "--json", "--backend", backend, "--docs", str(docs)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=4 * 3600)
    if done.returncode != 0:
        return f"exit status {done.returncode}: {done.stderr.strip()[-1000:]}"
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def dedup_section(quick: bool) -> str:
    """Markdown: both backends at each size (20k with `quick`, else 100k and 1M), and
    whether the store met the issue's targets at 1M documents."""
    from benchmarks import markdown_table

    sizes = QUICK_SIZES if quick else FULL_SIZES
    rows = []
    failures = []
    store_at: dict[int, dict[str, Any]] = {}
    for docs in sizes:
        for backend in ("store", "memory"):
            figures = run_alone(backend, docs)
            if isinstance(figures, str):
                failures.append(f"- {backend} at {docs} docs failed: {figures}")
                continue
            if backend == "store":
                store_at[docs] = figures
            size = figures["file_bytes"]
            rows.append(
                [
                    "state database" if backend == "store" else "in-memory index",
                    f"{docs:,}",
                    f"{figures['insert_per_s']:,.0f}",
                    f"{figures['sign_us']:.0f} + {figures['add_us']:.0f}",
                    f"{figures['p50'] * 1e3:.2f}",
                    f"{figures['p99'] * 1e3:.2f}",
                    f"{figures['lookup_p99'] * 1e3:.2f}",
                    f"{figures['peak_rss_mb']:,.0f}",
                    "" if size is None else f"{size / 2**20:,.0f} ({size / docs:,.0f} B/doc)",
                    f"{figures['precision']:.3f} / {figures['recall']:.3f}",
                    f"{figures['pairs_precision']:.3f} / {figures['pairs_recall']:.3f}",
                    f"{figures['wall_s']:,.0f}",
                ]
            )
    headers = [
        "search",
        "docs",
        "insert docs/s",
        "µs/doc: sign + add",
        "query p50 ms",
        "query p99 ms",
        "lookup p99 ms",
        "peak RSS MiB",
        "database MiB",
        "edits P / R",
        "pairs P / R",
        "wall s",
    ]
    parts = [
        "## Near-duplicate search",
        "`python benchmarks/bench_dedup.py --json --backend B --docs N` (2000 queries), each "
        "backend and size in a process of its own. The state database is what a crawl with "
        "state searches: a fresh SQLite file, committed 100 records per transaction as the "
        "crawl commits output batches; the in-memory index is the baseline (every signature "
        "in RAM, as every crawl held them before). Query times include computing the query's "
        "signature; lookup is the search alone. Edits P / R: generated reposts and edited "
        "copies; pairs P / R: the labelled pairs of tests/fixtures/dedup among the N.",
        markdown_table(headers, rows, align="lrrrrrrrrrrr") if rows else "(no run finished)",
    ]
    if failures:
        parts.append("\n".join(failures))
    target = store_at.get(TARGET_DOCS)
    if target is None:
        why = "quick mode stops at 20,000 documents" if quick else "the 1M run did not finish"
        parts.append(
            f"Targets at 1M documents (query p99 under {TARGET_P99_MS:g} ms, memory under "
            f"2 GB): not measured, {why}; `python -m benchmarks --only dedup` measures them."
        )
    else:
        p99 = target["p99"] * 1e3
        peak = target["peak_rss_mb"]
        parts.append(
            f"Targets at 1M documents in the state database: query p99 under "
            f"{TARGET_P99_MS:g} ms: **{'met' if p99 < TARGET_P99_MS else 'MISSED'}** "
            f"({p99:.2f} ms); memory under 2 GB: "
            f"**{'met' if peak < TARGET_RSS_MB else 'MISSED'}** (peak RSS {peak:,.0f} MiB). "
            f"The 1M run took {target['wall_s'] / 60:.0f} min."
        )
    return "\n\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=20_000, help="texts to add (20000)")
    parser.add_argument("--queries", type=int, default=2_000, help="texts to look up (2000)")
    parser.add_argument(
        "--backend", choices=("store", "memory"), default="store", help="where (store)"
    )
    parser.add_argument("--batch", type=int, default=100, help="records per commit (100)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (1)")
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD)
    parser.add_argument(
        "--no-capacity", action="store_true", help="memory: let the index grow, unsized"
    )
    parser.add_argument("--persist", action="store_true", help="memory: also time persistence")
    parser.add_argument("--progress", action="store_true", help="report every 100000 docs")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    if args.docs < 1 or args.queries < 10 or args.batch < 1:
        parser.error("--docs and --batch must be at least 1 and --queries at least 10")

    figures, memory = measure(args)
    if args.json:
        print(json.dumps(figures))
        return 0
    print(
        f"python {platform.python_version()} on {platform.machine()}; corpus "
        f"{figures['corpus_sentences']} sentences; {SIGNATURE_SIZE} bins, "
        f"{SIGNATURE_SIZE // BAND_ROWS} bands of {BAND_ROWS}, threshold {args.threshold}"
    )
    for line in report(figures):
        print(line)
    if args.persist and memory is not None:
        for line in persistence(memory.index):
            print(f"persistence    {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The README's benchmark table, rendered from the figures `make bench` kept.

    .venv/bin/python scripts/bench_table.py [RESULTS] [--readme]

RESULTS is the JSON-lines file `make bench` appends to (BENCH_RESULTS,
.stack/bench/results.jsonl); the table takes each benchmark's latest line. With --readme it
replaces the table in README.md (between the bench-table markers) instead of printing it.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BEGIN, END = "<!-- bench-table:begin -->", "<!-- bench-table:end -->"


def _n(value) -> str:
    return "?" if value is None else f"{value:,.0f}"


def _s(value) -> str:
    return "?" if value is None else f"{value:g} s"


# per benchmark: (what it measured, ours, the reference in the same run, what that reference is)
ROWS: dict[str, tuple[Callable[[dict], str], Callable[[dict], str], Callable[[dict], str], str]] = {
    "registration": (
        lambda r: f"{_n(r.get('voters'))} voters, offline",
        lambda r: f"{_n(r.get('voters_per_s'))} voters/s end to end",
        lambda r: (
            f"raw COPY {_n(r.get('copy_per_s'))} rows/s unindexed, "
            f"{_n(r.get('copy_keyed_per_s'))} rows/s with the roll's keys; "
            f"row by row {_n(r.get('row_by_row_per_s'))} rows/s"
        ),
        "PostgreSQL's own `COPY` of the same rows (the physical ceiling), and the seed's "
        "insert-and-commit per row",
    ),
    "produce_votes": (
        lambda r: f"{_n(r.get('ballots'))} ballots",
        lambda r: f"{_n(r.get('votes_per_s'))} votes/s",
        lambda r: f"Kafka ProducerPerformance {_n(r.get('baseline'))} records/s",
        "Kafka's own producer performance tool, same record size, `acks=all`, lz4",
    ),
    "ballot_plan": (
        lambda r: f"{_n(r.get('voters'))} voters, {_n(r.get('selections'))} selections",
        lambda r: (
            f"{_n(r.get('ballots_per_s'))} multi-contest ballots/s planned and encoded "
            f"(plan {_s(r.get('plan_s'))}, encode {_s(r.get('encode_s'))})"
        ),
        lambda r: f"seed-shaped ballots {_n(r.get('baseline'))}/s",
        "the same plan and encoding of the seed's one-candidate ballots",
    ),
    "tally_throughput": (
        lambda r: f"{_n(r.get('ballots'))} {r.get('shape', 'seed')} ballots",
        lambda r: (
            f"{_n(r.get('votes_per_s'))} ballots/s, {_n(r.get('selections_per_s'))} selections/s"
            + (", exact" if r.get("exact") else ", NOT exact")
            + f" (ratio {r.get('ratio', '?')})"
        ),
        lambda r: (
            f"naive tally {_n(r.get('naive_per_s'))}/s; topic copy {_n(r.get('copy_per_s'))}/s"
        ),
        "a naive Spark tally of the same ballots that counts every choice and checks nothing "
        "(no well-formedness, ballot style, polls or one-vote rule, no over- or undervotes, no "
        "ledger, no exactly-once), and a plain copy of the topic by Spark (the ceiling)",
    ),
    "tally_latency": (
        lambda r: f"{_n(r.get('offered_per_s'))} {r.get('shape', 'seed')} ballots/s offered",
        lambda r: f"p50 {_s(r.get('p50_s'))}, p95 {_s(r.get('p95_s'))} ({r.get('trigger', '?')})",
        lambda r: (
            "; ".join(
                f"{run.get('trigger_ms')} ms: p95 {_s(run.get('p95_s'))}"
                for run in r.get("runs", [])
            )
            or "?"
        ),
        "the same tally at each trigger interval tried; the target is p95 under one second",
    ),
    "rcv_rounds": (
        lambda r: (
            f"{_n(r.get('ballots'))} ranked ballots, {r.get('candidates', '?')} candidates, "
            f"{_n(r.get('patterns'))} patterns"
        ),
        lambda r: (
            f"re-tabulated and published in {_s(r.get('tabulate_s'))}, "
            f"{r.get('rounds', '?')} rounds"
            + (", exact" if r.get("exact") else ", NOT exact")
            + f" (ratio {r.get('ratio', '?')})"
        ),
        lambda r: (
            f"ballot by ballot {_s(r.get('baseline'))}; "
            f"regrouped each time {_s(r.get('regroup_s'))}"
        ),
        "the same tabulation handed every ballot as its own pattern (nothing grouped), and "
        "grouping all the ballots afresh before each tabulation; the target is under one second",
    ),
    "dashboard": (
        lambda r: f"{r.get('states', '?')} states, 1M ballots",
        lambda r: f"refresh p50 {r.get('p50_ms', '?')} ms, p95 {r.get('p95_ms', '?')} ms",
        lambda r: f"new consumer per refresh: p95 {r.get('baseline_p95_ms', '?')} ms",
        "the naive page that opens a new consumer and reads the topics from the start each refresh",
    ),
    "election": (
        lambda r: f"{r.get('faults', '?')} faults",
        lambda r: (
            ("certified identical to the truth" if r.get("identical") else "NOT identical")
            + f"; {_n(r.get('ballots'))} ballots in {_s(r.get('wall_s'))}"
        ),
        lambda r: f"the generator's own record: {_n(r.get('baseline'))} ballots sent",
        "what the vote generator confirmed it sent, judged by the counting rules",
    ),
}


def latest(lines: list[str]) -> dict[str, dict]:
    """Each benchmark's latest figures, in the order benchmarks first appear."""
    found: dict[str, dict] = {}
    for line in lines:
        if not line.strip():
            continue
        record = json.loads(line)
        found.pop(record["benchmark"], None)  # the latest goes last
        found[record["benchmark"]] = record
    return dict(
        sorted(found.items(), key=lambda kv: list(ROWS).index(kv[0]) if kv[0] in ROWS else 99)
    )


def render(records: dict[str, dict]) -> str:
    if not records:
        return "No figures yet: run `make bench`."
    dates = sorted({r.get("date", "?") for r in records.values()})
    cores = sorted({str(r.get("cores", "?")) for r in records.values()})
    out = [
        f"Measured {' to '.join(dict.fromkeys([dates[0], dates[-1]]))} on a machine with "
        f"{'/'.join(cores)} cores (`make bench`, rendered by `scripts/bench_table.py`):",
        "",
        "| benchmark | ours | reference in the same run |",
        "| --- | --- | --- |",
    ]
    notes = []
    for name, record in records.items():
        size, ours, reference, explained = ROWS.get(
            name,
            (
                lambda r: "",
                lambda r: f"ratio {r.get('ratio')}",
                lambda r: f"baseline {r.get('baseline')}",
                "see the benchmark's docstring",
            ),
        )
        label = f"`{name}` ({size(record)})" if size(record) else f"`{name}`"
        failed = " (failed)" if record.get("exit_code") not in (0, None) else ""
        out.append(f"| {label} | {ours(record)}{failed} | {reference(record)} |")
        notes.append(f"- `{name}`: {explained}.")
    return "\n".join([*out, "", "The references:", "", *notes])


def replace_in_readme(readme: Path, table: str) -> None:
    text = readme.read_text()
    if BEGIN not in text or END not in text:
        raise SystemExit(f"{readme} has no {BEGIN} ... {END} block to replace")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    readme.write_text(f"{head}{BEGIN}\n{table}\n{END}{tail}")


def main(argv: list[str]) -> int:
    args = [a for a in argv if a != "--readme"]
    if args:
        path = Path(args[0])
    else:
        from benchmarks.__main__ import results_file  # BENCH_RESULTS, or in BENCH_STACK_DIR

        path = results_file()
    if not path.exists():
        print(f"error: {path} does not exist; run make bench first", file=sys.stderr)
        return 1
    table = render(latest(path.read_text().splitlines()))
    if "--readme" in argv:
        replace_in_readme(ROOT / "README.md", table)
        print(f"README.md's benchmark table rendered from {path}")
    else:
        print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

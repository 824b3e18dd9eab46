"""The README's benchmark table, rendered from the figures make bench keeps (a small sample)."""

from __future__ import annotations

import json

from scripts import bench_table

SAMPLE = [
    {"benchmark": "produce_votes", "ballots": 2000, "votes_per_s": 1000, "baseline": 900,
     "ratio": 1.1, "date": "2026-12-01", "cores": 2, "exit_code": 0},
    {"benchmark": "registration", "voters": 1000, "voters_per_s": 5000, "row_by_row_per_s": 100,
     "copy_per_s": 9000, "copy_keyed_per_s": 7000, "baseline": 9000, "ratio": 0.5,
     "date": "2026-12-01", "cores": 2, "exit_code": 0},
    {"benchmark": "produce_votes", "ballots": 4000, "votes_per_s": 450431, "baseline": 311187,
     "ratio": 1.45, "date": "2026-12-02", "cores": 2, "exit_code": 0},
    {"benchmark": "something_new", "baseline": 3, "ratio": 2, "date": "2026-12-02", "cores": 2,
     "exit_code": 1},
]  # fmt: skip


def test_the_table_takes_each_benchmarks_latest_line_with_date_cores_and_references(tmp_path):
    results = tmp_path / "results.jsonl"
    results.write_text("\n".join(json.dumps(r) for r in SAMPLE) + "\n\n")
    table = bench_table.render(bench_table.latest(results.read_text().splitlines()))
    lines = table.splitlines()
    assert lines[0].startswith("Measured 2026-12-01 to 2026-12-02 on a machine with 2 cores")
    rows = [line for line in lines if line.startswith("| `")]
    assert rows == [
        "| `registration` (1,000 voters, offline) | 5,000 voters/s end to end | raw COPY 9,000 "
        "rows/s unindexed, 7,000 rows/s with the roll's keys; row by row 100 rows/s |",
        "| `produce_votes` (4,000 ballots) | 450,431 votes/s | Kafka ProducerPerformance "
        "311,187 records/s |",
        "| `something_new` | ratio 2 (failed) | baseline 3 |",
    ]
    # every reference is explained below the table
    assert "- `produce_votes`: Kafka's own producer performance tool" in table
    assert "- `registration`: PostgreSQL's own `COPY`" in table
    assert "- `something_new`:" in table


def test_the_readme_block_is_replaced_between_its_markers(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n\n{bench_table.BEGIN}\nold table\n{bench_table.END}\n\nafter\n")
    bench_table.replace_in_readme(readme, "new table")
    assert readme.read_text() == (
        f"# x\n\n{bench_table.BEGIN}\nnew table\n{bench_table.END}\n\nafter\n"
    )


def test_no_figures_says_so():
    assert bench_table.render({}) == "No figures yet: run `make bench`."

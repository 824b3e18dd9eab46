"""`make bench`: every benchmark on the benchmarks' own services, its figures kept in a file.

    python -m benchmarks [NAME ...]

Starts the benchmarks' own PostgreSQL and Kafka once (never the election's services), runs
each benchmark as `python -m benchmarks.NAME`, and appends its last line, with the date and
the machine's cores, to BENCH_RESULTS (.stack/bench/results.jsonl). `python
scripts/bench_table.py` renders the README's benchmark table from that file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

from benchmarks._common import bench_stack_dir, own_services
from election.settings import setting_text

FOLDER = Path(__file__).resolve().parent


def benchmark_names() -> list[str]:
    return sorted(p.stem for p in FOLDER.glob("*.py") if not p.stem.startswith("_"))


def results_file() -> Path:
    return Path(setting_text("BENCH_RESULTS") or bench_stack_dir() / "results.jsonl")


def run_one(name: str, run_id: str, results: Path) -> bool:
    """Run one benchmark, echoing its output; append its figures; True when it succeeded."""
    print(f"== benchmarks.{name}", flush=True)
    process = subprocess.Popen(
        [sys.executable, "-m", f"benchmarks.{name}"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=FOLDER.parent,
    )
    last = ""
    for line in process.stdout:
        print(line, end="", flush=True)
        if line.strip():
            last = line.strip()
    code = process.wait()
    try:
        figures = json.loads(last)
    except ValueError:
        figures = None
    if not isinstance(figures, dict):
        print(f"[bench] {name} ended without its JSON line (exit {code})", flush=True)
        return False
    figures.update(
        run=run_id,
        date=datetime.now(UTC).strftime("%Y-%m-%d"),
        cores=os.cpu_count(),
        exit_code=code,
    )
    results.parent.mkdir(parents=True, exist_ok=True)
    with results.open("a") as out:
        out.write(json.dumps(figures) + "\n")
    return code == 0


def main(argv: list[str]) -> int:
    names = argv or benchmark_names()
    unknown = sorted(set(names) - set(benchmark_names()))
    if unknown:
        print(f"[bench] error: no benchmark named {', '.join(unknown)}; one of {benchmark_names()}")
        return 2
    results = results_file()
    run_id = uuid.uuid4().hex[:8]
    with own_services():
        failed = [name for name in names if not run_one(name, run_id, results)]
    print(f"[bench] figures appended to {results} (run {run_id})")
    print("[bench] the README's table: .venv/bin/python scripts/bench_table.py")
    if failed:
        print(f"[bench] failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

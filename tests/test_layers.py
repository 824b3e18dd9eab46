"""The one-way arrows between the parts (docs/ARCHITECTURE.md), read from the imports themselves."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
OURS = {
    "election",
    "election_io",
    "election_assets",
    "spark_jobs",
    "streamlit_app",
    "benchmarks",
    "scripts",
    "stack",
    "tests",
}
# what each part may import of ours, itself included
ALLOWED = {
    "election": {"election"},
    "election_io": {"election", "election_io"},
    "spark_jobs": {"election", "election_io", "spark_jobs"},
    "election_assets": {"election", "election_io", "election_assets"},
    "streamlit_app": {"election", "election_io", "streamlit_app"},
}


def imported_parts(path: Path) -> set[str]:
    """The top-level packages of ours a module imports, wherever in the module it does."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found |= {name.split(".")[0] for name in names} & OURS
    return found


@pytest.mark.parametrize("part", sorted(ALLOWED))
def test_each_part_imports_only_what_lies_below_it(part):
    wrong = {
        str(path.relative_to(ROOT)): sorted(imported_parts(path) - ALLOWED[part])
        for path in sorted((ROOT / part).rglob("*.py"))
    }
    assert {module: parts for module, parts in wrong.items() if parts} == {}


def test_the_domain_does_no_io():
    io_modules = {"psycopg", "confluent_kafka", "dagster", "pyspark", "streamlit", "requests"}
    wrong = {}
    for path in sorted((ROOT / "election").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = {
            (alias.name if isinstance(node, ast.Import) else node.module or "").split(".")[0]
            for node in ast.walk(tree)
            if isinstance(node, (ast.Import, ast.ImportFrom))
            for alias in node.names
        }
        if names & io_modules:
            wrong[str(path.relative_to(ROOT))] = sorted(names & io_modules)
    assert wrong == {}


def test_every_kafka_client_is_configured_in_one_place():
    """Security settings reach every client only if every client takes its settings from
    election_io.kafka_config: no production module names the brokers' setting itself."""
    home = ROOT / "election_io" / "kafka_config.py"
    wrong = [
        str(path.relative_to(ROOT))
        for part in ALLOWED
        for path in sorted((ROOT / part).rglob("*.py"))
        if path != home and '"bootstrap.servers"' in path.read_text(encoding="utf-8")
    ]
    assert wrong == []

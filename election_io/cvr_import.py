"""An imported election in PostgreSQL: cast vote record reports read from disk, and
written whole in the caller's transaction (definition, candidates, roll, and the ballots the
voting day replays), so a reader sees the old election or the imported one, never half.

A report path is one JSON file, or a folder whose `*.json` files are read in name order (the
tabulation rules' file left out when it lies there too). Whatever stops an import is one
CvrError line naming the file, and the record and field when it is one of them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import psycopg

from election.candidates import CANDIDATE_COLUMNS
from election.cvr import CvrError, ImportedElection, import_reports
from election.replay import imported_candidates, imported_roll, selections_text
from election.roll import VOTER_COLUMNS
from election_io.definitions import IMPORTED_BALLOTS, write_definition
from election_io.tables import CANDIDATE_KEYS, VOTER_KEYS, replace_table


@dataclass(frozen=True)
class ImportCounts:
    """What an import wrote (counts only: no voter appears in a run's metadata or logs)."""

    contests: int
    districts: int
    candidates: int
    records: int
    ballots: int


def read_import(cvr_path: str | Path, rules_path: str | Path | None = None) -> ImportedElection:
    """The election the report(s) at cvr_path hold, with the RCTab configuration at rules_path
    (none: no tabulation rules); CvrError, one line, when they cannot be imported."""
    if not str(cvr_path or "").strip():
        raise CvrError("no cast vote record report given: set cvr_path (or CVR_PATH)")
    rules = Path(rules_path) if rules_path else None
    reports = [(path.name, _json(path, "report")) for path in report_files(Path(cvr_path), rules)]
    imported = import_reports(reports, _json(rules, "configuration") if rules else None)
    if not imported.ballots:
        raise CvrError(f"{str(cvr_path)!r} holds no cast vote record (CVR): nothing to replay")
    return imported


def report_files(path: Path, rules: Path | None = None) -> list[Path]:
    """The report files at path: the file itself, or a folder's `*.json` in name order."""
    if path.is_dir():
        found = sorted(p for p in path.glob("*.json") if p.is_file() and not _same(p, rules))
        if not found:
            raise CvrError(f"{str(path)!r} holds no cast vote record report (*.json)")
        return found
    if not path.is_file():
        raise CvrError(f"no cast vote record report at {str(path)!r}: no such file or folder")
    return [path]


def _same(path: Path, rules: Path | None) -> bool:
    try:
        return rules is not None and path.samefile(rules)
    except (OSError, ValueError):  # no such rules file (it is read later, and said then)
        return False


def _json(path: Path, what: str):
    try:
        text = path.read_bytes()
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the path
        why = getattr(exc, "strerror", None) or "no path the system can open"
        raise CvrError(f"cannot read the {what} {str(path)!r}: {why}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise CvrError(
            f"{path.name}: the {what} is not JSON ({exc.msg}, line {exc.lineno} column {exc.colno})"
        ) from None
    except (ValueError, RecursionError) as exc:  # not UTF-8, or nested past Python's reach
        reason = "nested too deeply" if isinstance(exc, RecursionError) else "not UTF-8 JSON"
        raise CvrError(f"{path.name}: the {what} is {reason}") from None


def write_import(conn: psycopg.Connection, imported: ImportedElection) -> ImportCounts:
    """Replace the election with the imported one, inside the caller's transaction: its
    definition, its choices as the candidates, one voter per record and the records' ballots."""
    definition = imported.definition
    write_definition(conn, definition)  # empties imported_ballots too
    candidates = imported_candidates(definition)
    replace_table(conn, "candidates", CANDIDATE_COLUMNS, candidates, CANDIDATE_KEYS)
    replace_table(conn, "voters", VOTER_COLUMNS, imported_roll(imported.ballots), VOTER_KEYS)
    with conn.cursor().copy(
        f"COPY {IMPORTED_BALLOTS} (position, voter_id, selections) FROM STDIN"
    ) as copy:
        for position, ballot in enumerate(imported.ballots):
            copy.write_row(
                (position, ballot.voter_id, selections_text(ballot.selections, definition))
            )
    return ImportCounts(
        contests=len(definition.contests),
        districts=len(definition.districts),
        candidates=candidates.num_rows,
        records=len(imported.ballots),
        ballots=len(imported.ballots),
    )


def read_imported_ballots(conn: psycopg.Connection) -> tuple[list, list, list] | None:
    """The imported ballots in the records' order: voter ids, their homes (the roll's) and
    selections (JSON); None when the election is not an imported one."""
    rows = conn.execute(
        f"SELECT b.voter_id, v.address_state, b.selections FROM {IMPORTED_BALLOTS} b "
        "JOIN voters v USING (voter_id) ORDER BY b.position"
    ).fetchall()
    if not rows:
        return None
    voter_ids, homes, texts = (list(column) for column in zip(*rows, strict=True))
    return voter_ids, homes, texts

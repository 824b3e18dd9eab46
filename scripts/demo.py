"""`make demo`: a short election, end to end, through Dagster itself, on the local stack.

    .venv/bin/python scripts/demo.py   (make demo: after make services)

Starts Dagster (`dagster dev`, webserver and daemon) and the dashboard as `make run` does and
prints their URLs; then, through the webserver's API as a person would from the UI, registers
an offline roll of DEMO_VOTERS voters, starts the live tally, opens the polls for a voting day
of DEMO_MINUTES with both sensors on, lets polls_closing_sensor close them, waits for the tally
to drain and certifies. A live line shows the ballots cast, counted and the leader. Dagster and
the dashboard keep running afterwards, until Ctrl-C. It starts a new election: the one in the
stack's database and topics is replaced.
"""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "stack"), str(ROOT)]  # make run's launcher and the GraphQL driver

import psycopg  # noqa: E402
import run as stack_run  # noqa: E402  (stack/run.py)
from election_night import ElectionNight  # noqa: E402  (stack/election_night.py)
from localstack import load_dotenv  # noqa: E402

from election import contract  # noqa: E402
from election.settings import SettingError, setting  # noqa: E402


def say(message: str) -> None:
    print(f"\n[demo] {message}", flush=True)


def progress(database_url: str) -> tuple[str, int, int, str]:
    """(status, ballots cast, ballots counted, the leader and their votes) from the database."""
    with psycopg.connect(database_url) as conn:
        status = conn.execute(
            "SELECT status FROM elections ORDER BY election_id DESC LIMIT 1"
        ).fetchone()
        (cast,) = conn.execute("SELECT coalesce(sum(sent), 0) FROM vote_waves").fetchone()
        (counted,) = conn.execute("SELECT coalesce(sum(counted), 0) FROM tally_batches").fetchone()
        leader = conn.execute(
            "SELECT c.candidate_name, t.total_votes FROM tally_by_candidate t "
            "JOIN candidates c USING (candidate_id) ORDER BY t.total_votes DESC LIMIT 1"
        ).fetchone()
    named = f"{leader[0]} ({leader[1]:,})" if leader else "-"
    return (status[0] if status else "none"), int(cast), int(counted), named


def live_line(database_url: str, began: float, closes_in: float | None) -> str:
    status, cast, counted, leader = progress(database_url)
    clock = f"+{time.monotonic() - began:4.0f} s"
    if closes_in is not None and status == contract.OPEN:
        clock += f" (closes in {max(0.0, closes_in - (time.monotonic() - began)):3.0f} s)"
    line = f"{clock}  {status:<9} cast {cast:>8,}  counted {counted:>8,}  leader {leader}"
    print(f"\r{line:<110}", end="", flush=True)
    return status


def run_election(night: ElectionNight, database_url: str, voters: int, minutes: float) -> None:
    say(f"registering {voters:,} voters (offline roll) ...")
    night.register(voters=voters)
    say("starting the live tally (live_aggregation_job) ...")
    night.start_tally()
    say(f"opening the polls for a {minutes:g}-minute voting day; both sensors on ...")
    night.open_polls(minutes)
    began = time.monotonic()
    while live_line(database_url, began, minutes * 60) == contract.OPEN:
        time.sleep(2)
    closer = "polls_closing_sensor" if night.closed_by_sensor() else "a person"
    say(f"polls closed by {closer}; the tally drains ...")
    deadline = time.time() + 900
    while not night.drained():
        if time.time() > deadline:
            raise RuntimeError("the tally did not drain in 15 minutes; see the runs in Dagster")
        live_line(database_url, began, None)
        time.sleep(2)
    live_line(database_url, began, None)
    say("certifying (certify_results_job: recount and reconciliation) ...")
    night.certify()
    live_line(database_url, began, None)
    _, cast, counted, leader = progress(database_url)
    say(f"certified: {counted:,} ballots counted of {cast:,} cast; winner {leader}")


def main() -> int:
    load_dotenv()
    try:
        minutes, voters = setting("DEMO_MINUTES"), setting("DEMO_VOTERS")
        database_url = setting("DATABASE_URL")
        dagster_port, streamlit_port = stack_run.app_ports()
    except (SettingError, RuntimeError) as exc:
        print(f"[demo] error: {exc}")
        return 1
    processes, logs = stack_run.start_apps(dagster_port, streamlit_port)
    signal.signal(signal.SIGTERM, lambda *a: (stack_run.stop_apps(processes), sys.exit(0)))
    if not stack_run.apps_up(processes, dagster_port, streamlit_port):
        stack_run.stop_apps(processes)
        print(f"[demo] error: Dagster or the dashboard did not start; see {logs}")
        return 1
    print(f"[demo] Dagster UI:  http://127.0.0.1:{dagster_port}")
    print(f"[demo] Dashboard:   http://127.0.0.1:{streamlit_port}")
    print(f"[demo] logs in {logs}; Ctrl-C stops Dagster and the dashboard")
    night = ElectionNight(f"http://127.0.0.1:{dagster_port}", database_url)
    try:
        run_election(night, database_url, voters, minutes)
    except KeyboardInterrupt:
        print()
        stack_run.stop_apps(processes)
        return 130
    except Exception as exc:  # one line; the runs' own logs are in Dagster
        say(f"error: {type(exc).__name__}: {exc}")
        say("Dagster and the dashboard keep running to look into it; Ctrl-C stops them")
        stack_run.serve_until_interrupted(processes)
        return 1
    say("done; Dagster and the dashboard keep running (Ctrl-C stops them; make stop the services)")
    stack_run.serve_until_interrupted(processes)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The voting day's waves: the ballot plan, the slice of it due now, and casting that slice to
the ballot log with every confirmed chunk recorded in vote_waves, one wave at a time.

A wave's settings are the voting stage's WaveConfig (election_assets.voting): size, rate, seed,
turnout, problem_share, paced, max_share, horizon_s, and selections (the ballot's shape: every
contest of the voter's style, or the seed's one candidate). An imported election's plan is its
records' ballots, whatever turnout, problem_share and selections say.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import numpy as np
import psycopg
from confluent_kafka import Producer

from election import contract, replay, turnout
from election_io.ballot_box import DeliveryFailed, send_ballots, send_on_time
from election_io.cvr_import import read_imported_ballots
from election_io.definitions import read_definition
from election_io.elections import read_election

WAVE_LOCK = 7_000_001  # advisory lock: one wave at a time, whatever launched it
WAVE_QUEUE_TIMEOUT_S = 300  # how long a paced wave waits for the one before it
MIN_HORIZON_S = 30.0  # a paced wave casts at least this far ahead


class WaveRefused(RuntimeError):
    """No wave may be cast now; the message says why and what to do."""


@dataclass(frozen=True)
class WaveReport:
    wave: int
    sent: int
    seconds: float
    remaining: int

    @property
    def rate(self) -> float:
        return self.sent / self.seconds if self.seconds > 0 else 0.0


def load_plan(conn: psycopg.Connection, config) -> turnout.BallotPlan:
    """The election's ballot plan, the same for every wave: the roll is frozen while open.

    An imported election (import_cvr_job) replays its ballots, in the records' order with
    their selections (election.replay). Otherwise the turnout model plans the day: with
    config.selections, each ballot marks every contest of its voter's style, from the
    election's definition and the voters' counties; otherwise it is the seed's shape.
    """
    imported = read_imported_ballots(conn)
    if imported is not None:
        return replay.replay_plan(*imported, seed=config.seed)
    rows = conn.execute(
        "SELECT voter_id, address_state, county_fips FROM voters ORDER BY voter_id"
    ).fetchall()
    candidate_ids = [r[0] for r in conn.execute("SELECT candidate_id FROM candidates ORDER BY 1")]
    voter_ids = np.array([r[0] for r in rows], dtype=object)
    states = np.array([r[1] for r in rows], dtype=object)
    contests = read_definition(conn).contests if config.selections else None
    try:
        return turnout.plan_election(
            voter_ids,
            states,
            candidate_ids,
            seed=config.seed,
            turnout=config.turnout,
            problem_share=config.problem_share,
            contests=contests,
            voter_counties=np.array([r[2] for r in rows], dtype=object),
        )
    except ValueError as exc:
        raise WaveRefused(f"no ballot plan for this election: {exc}") from None


def plan_cursor(conn: psycopg.Connection) -> int:
    """How much of the plan is confirmed sent: where the next wave starts."""
    (cursor,) = conn.execute(
        "SELECT coalesce(max(plan_start + sent), 0) FROM vote_waves"
    ).fetchone()
    return int(cursor)


def cast_wave(
    conn: psycopg.Connection,
    producer: Callable[[], Producer],
    config,
    run_id: str,
    log,
    topic: str = contract.VOTES_TOPIC,
) -> WaveReport:
    """Send the next slice of the plan to the ballot log, recording each confirmed chunk.

    conn is an autocommit connection; config a wave's settings (the stage's WaveConfig);
    producer makes the Kafka producer once there is something to send. Raises WaveRefused when
    no wave may be cast now, DeliveryFailed when the broker does not confirm the ballots.
    """
    with contextlib.ExitStack() as held:
        if config.paced:
            # the next paced wave is launched while one casts, and starts the moment it ends
            try:
                conn.execute(f"SET lock_timeout = '{WAVE_QUEUE_TIMEOUT_S}s'")
                conn.execute("SELECT pg_advisory_lock(%s)", (WAVE_LOCK,))
            except psycopg.errors.LockNotAvailable:
                raise WaveRefused(
                    f"another wave has been casting for over {WAVE_QUEUE_TIMEOUT_S} s"
                ) from None
        elif not conn.execute("SELECT pg_try_advisory_lock(%s)", (WAVE_LOCK,)).fetchone()[0]:
            raise WaveRefused("another wave is being cast right now; one wave at a time")
        # released at the end, not when the server notices the closed connection: the next
        # wave may be asking for it already
        held.callback(release_wave_lock, conn)
        election = read_election(conn)
        if election is None or election.status != contract.OPEN:
            status = election.status if election else "not registered"
            raise WaveRefused(f"the polls are not open (election {status}): run open_polls_job")
        started = time.perf_counter()
        plan = load_plan(conn, config)
        start = plan_cursor(conn)
        stop = min(len(plan), start + config.size)
        due = None
        if config.paced:
            stop, due = paced_slice(conn, election, plan, start, stop, config)
        (wave,) = conn.execute("SELECT coalesce(max(wave), 0) + 1 FROM vote_waves").fetchone()
        log.info(
            f"wave {wave}: ballots {start:,}..{stop:,} of a {len(plan):,}-ballot plan "
            f"(planned in {time.perf_counter() - started:.1f} s)"
        )
        if start >= stop:  # everything is cast, or (paced) nothing more is due yet
            return WaveReport(wave, 0, 0.0, len(plan) - start)
        conn.execute(
            "INSERT INTO vote_waves (wave, run_id, plan_seed, plan_start, plan_stop, plan_size, "
            "status, target_rate) VALUES (%s, %s, %s, %s, %s, %s, 'running', %s)",
            (wave, run_id, config.seed, start, stop, len(plan), config.rate),
        )
        sender = producer()

        def confirmed(sent_in_wave: int) -> None:
            conn.execute("UPDATE vote_waves SET sent = %s WHERE wave = %s", (sent_in_wave, wave))

        began = time.perf_counter()
        try:
            wave_plan = plan.slice(start, stop)
            if due is None:
                sent = send_ballots(sender, topic, wave_plan, config.rate, confirmed, log)
            else:
                sent = send_on_time(sender, topic, wave_plan, *due, config.rate, confirmed, log)
        except DeliveryFailed as exc:
            conn.execute("UPDATE vote_waves SET status = 'failed' WHERE wave = %s", (wave,))
            raise DeliveryFailed(f"wave {wave}: {exc}") from exc
        seconds = time.perf_counter() - began
        conn.execute(
            "UPDATE vote_waves SET status = 'done', finished_at = now() WHERE wave = %s", (wave,)
        )
    return WaveReport(wave, sent, seconds, len(plan) - stop)


def release_wave_lock(conn: psycopg.Connection) -> None:
    with contextlib.suppress(psycopg.Error):  # a broken connection releases it anyway
        conn.execute("SELECT pg_advisory_unlock(%s)", (WAVE_LOCK,))


def paced_slice(
    conn: psycopg.Connection, election, plan: turnout.BallotPlan, start: int, stop: int, config
) -> tuple[int, tuple[np.ndarray, float] | None]:
    """Where a paced wave stops, when each of its ballots is due and when the polls close
    (on time.monotonic()).

    Without a scheduled closing the day has no clock: the wave is not paced.
    """
    closes_at = election.polls_close_at
    if closes_at is None:
        return stop, None
    (now,) = conn.execute("SELECT clock_timestamp()").fetchone()
    if now >= closes_at:  # the day is over: whoever has not voted by now does not
        return start, (np.zeros(0), 0.0)
    opened = election.polls_opened_at
    day_s = (closes_at - opened).total_seconds()
    horizon_s = max(
        0.0, config.horizon_s if config.horizon_s is not None else default_horizon(day_s)
    )
    ahead = now + timedelta(seconds=horizon_s)
    cap = max(config.max_share, 1.5 * horizon_s / day_s)
    # what is due by now is always cast (a slow launch must not make the day fall behind);
    # what comes due within the horizon, up to a small slice of the plan
    due_now = turnout.ballots_due(plan, turnout.elapsed_day_fraction(opened, closes_at, now))
    due_ahead = turnout.ballots_due(plan, turnout.elapsed_day_fraction(opened, closes_at, ahead))
    stop = min(stop, max(due_now, min(due_ahead, start + max(1, int(cap * len(plan))))))
    stop = max(start, stop)
    # the database's clock decides the day; the wave keeps time with its own monotonic clock
    since_opening = (now - opened).total_seconds()
    due = time.monotonic() + plan.day_fraction[start:stop] * day_s - since_opening
    return stop, (due, time.monotonic() + (closes_at - now).total_seconds())


def default_horizon(day_s: float) -> float:
    """How far ahead a paced wave casts: a twentieth of the day, and at least half a minute,
    about what launching the next wave takes on a busy machine, so the waves leave no gap."""
    return max(day_s / 20, MIN_HORIZON_S)

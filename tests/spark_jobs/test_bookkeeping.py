"""The tally's bookkeeping without services: pending batches, batch records, the polls check."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pytest

from election.contract import Election
from election.settings import setting
from election_io.elections import ElectionNow
from spark_jobs import batch_outcome, ledger, pending, tally_options

OPENED = datetime(2024, 11, 5, 7, tzinfo=UTC)


def window(closed=None, election_id=1, read_at=OPENED + timedelta(hours=5)):
    status = "open" if closed is None else "closed"
    return ElectionNow(Election(election_id, "test", status, OPENED, closed, None), read_at)


def test_pending_batches_are_written_listed_in_order_and_crossed_off(tmp_path):
    book = pending.PendingBatches(str(tmp_path / "checkpoint"))
    assert book.all() == []
    book.write(pending.PendingBatch(7, "votes_topic", {0: (10, 19), 2: (5, 5)}))
    book.write(pending.PendingBatch(6, "votes_topic", {1: (0, 3)}))
    assert [b.batch_id for b in book.all()] == [6, 7]
    assert book.all()[1].ranges == {0: (10, 19), 2: (5, 5)}
    book.remove(6)
    book.remove(6)  # crossing off twice is harmless (a crash can come between)
    assert [b.batch_id for b in book.all()] == [7]
    assert not list((tmp_path / "checkpoint" / "tally_pending").glob("*.tmp"))


def test_only_a_local_checkpoint_keeps_pending_batches():
    assert pending.PendingBatches.usable("/data/checkpoints/live_tally")
    assert pending.PendingBatches.usable("file:///data/checkpoints/live_tally")
    assert not pending.PendingBatches.usable("hdfs://cluster/checkpoints/live_tally")


def test_a_batch_record_keeps_its_offsets_through_the_database_json():
    record = ledger.BatchRecord(12, 10, 2, "votes_topic", {0: (100, 105), 3: (7, 12)})
    document = json.loads(record.end_offsets_json())
    assert document == {
        "topic": "votes_topic",
        "start": {"0": 100, "3": 7},
        "end": {"0": 106, "3": 13},
    }
    assert ledger.BatchRecord.from_row(12, 10, 2, document) == record


def ballots_cast_at(*moments):
    micros = [round(m.timestamp() * 1_000_000) for m in moments]
    return pa.table({"voting_us": pa.array(micros, pa.int64())})


def test_a_batch_judged_before_the_polls_closed_is_refused_if_it_counted_later_ballots():
    close = OPENED + timedelta(hours=2)
    early = ballots_cast_at(close - timedelta(seconds=1))
    late = ballots_cast_at(close - timedelta(seconds=1), close + timedelta(microseconds=1))
    batch_outcome.check_window(window(), window(close), early)
    batch_outcome.check_window(window(), window(), late)
    with pytest.raises(batch_outcome.WindowChanged):
        batch_outcome.check_window(window(), window(close), late)
    with pytest.raises(batch_outcome.WindowChanged):
        batch_outcome.check_window(window(), window(election_id=2), early)


def test_a_ballot_received_at_the_closing_time_refuses_a_batch_judged_while_open():
    close = OPENED + timedelta(hours=2)
    with pytest.raises(batch_outcome.WindowChanged):
        batch_outcome.check_window(window(), window(close), ballots_cast_at(close))


def test_the_ledger_keeps_the_brokers_receipt_not_the_voters_claim():
    received = datetime(2024, 11, 5, 9, 30, 0, 123000, tzinfo=UTC)
    first = pa.table(
        {
            "partition": pa.array([0], pa.int32()),
            "offset": pa.array([4], pa.int64()),
            "kafka_timestamp": pa.array([received], pa.timestamp("us", tz="UTC")),
            "voter_id": ["v1"],
            "candidate_id": ["c1"],
            "address_state": ["Ohio"],
            "county_fips": pa.nulls(1, pa.string()),
            "outcomes": pa.nulls(1, pa.string()),
            "cells": pa.nulls(1, pa.list_(pa.string())),
        }
    )
    staged = batch_outcome.staged_ballots(first)
    assert staged["voting_us"].to_pylist() == [round(received.timestamp() * 1_000_000)]


def test_offsets_per_batch_are_capped_by_the_bytes_a_batch_may_bring_to_the_driver():
    budget = 64 * tally_options.MESSAGE_BYTES
    assert tally_options.bounded_offsets(1_000, budget) == 64
    assert tally_options.bounded_offsets(10, budget) == 10
    assert tally_options.bounded_offsets(0, budget) == 64
    default = tally_options.parse_args(["--max-offsets-per-trigger", "10000000"])
    assert default.max_offsets_per_trigger * tally_options.MESSAGE_BYTES <= setting(
        "TALLY_MAX_BATCH_BYTES"
    )

"""The whole election, small, with one fault of each kind: certified result equals the truth."""

from __future__ import annotations

import pytest

from benchmarks.election import Scenario, run_scenario


@pytest.mark.slow
@pytest.mark.spark
def test_small_election_with_faults_certifies_the_truth():
    outcome = run_scenario(
        Scenario(
            voters=3600,  # three waves: the second is killed mid-way
            wave_size=1200,
            wave_rate=600,
            problem_share=0.03,
            faults=True,
            database="voting_test_scenario",
            timeout_s=900,
        )
    )
    assert len(outcome.faults) == 4, outcome.faults
    assert outcome.certified["status"] == "certified"
    assert outcome.truth["per_candidate"] == outcome.certified["per_candidate"]
    assert outcome.truth["per_state"] == outcome.certified["per_state"]
    assert outcome.identical
    assert sum(outcome.certified["per_candidate"].values()) > 1800  # half the roll
    assert outcome.certified["rejected_by_reason"].get("duplicate", 0) > 0
    assert outcome.certified["rejected_by_reason"].get("unknown_candidate", 0) > 0

"""The public contract: topic names, message fields, rejection reasons, lifecycle states.

These names are relied on by other programs (dashboard, tests, outside consumers);
docs/DESIGN.md writes them down. Change them only with that document.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

# --- Kafka topics -------------------------------------------------------------------------
VOTES_TOPIC = "votes_topic"
VOTES_PER_CANDIDATE_TOPIC = "aggregated_votes_per_candidate"
TURNOUT_BY_LOCATION_TOPIC = "aggregated_turnout_by_location"
VOTES_PER_STATE_TOPIC = "aggregated_votes_per_state"
REJECTED_VOTES_TOPIC = "rejected_votes"
# Race calls: keyed by contest and district (contest_key), like contest_results.
RACE_CALLS_TOPIC = "race_calls"
# Every contest's totals, keyed by contest and district.
CONTEST_RESULTS_TOPIC = "contest_results"
# A ranked contest's rounds so far (RCTab's summary JSON), keyed by contest and district.
RCV_ROUNDS_TOPIC = "rcv_rounds"

RESULT_TOPICS = (
    VOTES_PER_CANDIDATE_TOPIC,
    TURNOUT_BY_LOCATION_TOPIC,
    VOTES_PER_STATE_TOPIC,
)
# Compacted: the latest message per key is the current value.
COMPACTED_TOPICS = (*RESULT_TOPICS, CONTEST_RESULTS_TOPIC, RCV_ROUNDS_TOPIC, RACE_CALLS_TOPIC)
# What the live tally publishes: the results, the rounds, every rejection, the race calls.
PUBLISHED_TOPICS = (
    *RESULT_TOPICS,
    CONTEST_RESULTS_TOPIC,
    RCV_ROUNDS_TOPIC,
    REJECTED_VOTES_TOPIC,
    RACE_CALLS_TOPIC,
)

# --- Topic settings: the one place every creator of a topic takes them from ---------------
# votes_topic refuses larger record batches at the door (Kafka's max.message.bytes).
MAX_BALLOT_BYTES = 65_536
# A producer's batch to votes_topic stays under the door, with room for framing and lz4.
BALLOT_BATCH_BYTES = 60_000
_KEPT_FOREVER = {"cleanup.policy": "delete", "retention.ms": "-1", "retention.bytes": "-1"}
VOTES_TOPIC_CONFIG = {
    **_KEPT_FOREVER,
    # a ballot's time is when the ballot box received it, whatever the sender's clock says
    "message.timestamp.type": "LogAppendTime",
    "max.message.bytes": str(MAX_BALLOT_BYTES),
}
REJECTED_VOTES_CONFIG = dict(_KEPT_FOREVER)
COMPACTED_CONFIG = {"cleanup.policy": "compact"}


def topic_config(name: str, prefix: str = "") -> dict[str, str]:
    """The settings a topic is created with; name may carry a prefix (tests, benchmarks)."""
    base = name.removeprefix(prefix) if prefix else name
    if base == REJECTED_VOTES_TOPIC:
        return dict(REJECTED_VOTES_CONFIG)
    if base in COMPACTED_TOPICS:
        return dict(COMPACTED_CONFIG)
    return dict(VOTES_TOPIC_CONFIG)  # votes_topic, or a ballot log of another name


# --- Message fields -----------------------------------------------------------------------
BALLOT_FIELDS = ("vote_id", "voter_id", "candidate_id", "voting_time")

CANDIDATE_RESULT_FIELDS = (
    "candidate_id",
    "candidate_name",
    "party_affiliation",
    "photo_url",
    "total_votes",
    "updated_at",
)
TURNOUT_RESULT_FIELDS = (
    "address_state",
    "total_votes",
    "registered_voters",
    "turnout_pct",
    "updated_at",
)
CONTEST_RESULT_FIELDS = (
    "contest_id",
    "district_id",
    "ballots",
    "overvotes",
    "undervotes",
    "totals",
    "updated_at",
)
STATE_RESULT_FIELDS = (
    "address_state",
    "candidate_id",
    "candidate_name",
    "party_affiliation",
    "total_votes",
    "updated_at",
)
REJECTION_FIELDS = ("vote_id", "partition", "offset", "reason", "detail", "raw", "detected_at")
RACE_CALL_FIELDS = (
    "contest_id",
    "district_id",
    "race",
    "called",
    "candidate_id",
    "candidate_name",
    "margin",
    "outstanding",
    "called_at",
    "updated_at",
)


def state_result_key(address_state: str, candidate_id: str) -> str:
    """Key of a message on aggregated_votes_per_state."""
    return f"{address_state}|{candidate_id}"


def contest_key(contest_id: str, district_id: str) -> str:
    """Key of a message on contest_results (and, per contest, race_calls and rcv_rounds)."""
    return f"{contest_id}|{district_id}"


def contest_key_problem(key: str, value: Mapping) -> str | None:
    """Why a message keyed by contest and district is not, in a line; None when it is: its key
    is contest_key of the non-empty contest_id and district_id it names."""
    contest_id, district_id = value.get("contest_id"), value.get("district_id")
    for field, found in (("contest_id", contest_id), ("district_id", district_id)):
        if not isinstance(found, str) or not found:
            return f"keyed {key[:80]!r} without a {field}"
    if key != contest_key(contest_id, district_id):
        expected = contest_key(contest_id, district_id)
        return f"keyed {key[:80]!r}, not {expected[:80]!r} as its fields say"
    return None


def rejection_key(partition: int, offset: int) -> str:
    """Key of a message on rejected_votes: the rejected message's place on votes_topic."""
    return f"{partition}:{offset}"


# --- Rejection reasons, as the contract lists them (election.counting.CHECK_ORDER checks) ---
MALFORMED = "malformed"
UNKNOWN_VOTER = "unknown_voter"
UNKNOWN_CANDIDATE = "unknown_candidate"
POLLS_CLOSED = "polls_closed"
DUPLICATE = "duplicate"
NOT_ON_BALLOT = "not_on_ballot"  # a contest not on the voter's ballot style
REJECTION_REASONS = (
    MALFORMED,
    UNKNOWN_VOTER,
    UNKNOWN_CANDIDATE,
    NOT_ON_BALLOT,
    DUPLICATE,
    POLLS_CLOSED,
)

# --- Election lifecycle -------------------------------------------------------------------
REGISTRATION = "registration"
OPEN = "open"
CLOSED = "closed"
CERTIFIED = "certified"
LIFECYCLE = (REGISTRATION, OPEN, CLOSED, CERTIFIED)
NEXT_STATUS = {REGISTRATION: OPEN, OPEN: CLOSED, CLOSED: CERTIFIED}
ELECTION_COLUMNS = (
    "election_id",
    "name",
    "status",
    "polls_opened_at",
    "polls_closed_at",
    "certified_at",
    "polls_close_at",
)


@dataclass(frozen=True)
class Election:
    """One row of the `elections` table: the election and where it stands in its lifecycle."""

    election_id: int
    name: str
    status: str
    polls_opened_at: datetime | None
    polls_closed_at: datetime | None  # when they closed, by the broker's clock
    certified_at: datetime | None
    polls_close_at: datetime | None = None  # when they close by themselves; None: a person does


# --- Dagster job and sensor names ---------------------------------------------------------
REGISTRATION_JOB = "registration_job"
IMPORT_CVR_JOB = "import_cvr_job"
OPEN_POLLS_JOB = "open_polls_job"
CAST_VOTES_JOB = "cast_votes_job"
LIVE_AGGREGATION_JOB = "live_aggregation_job"
CLOSE_POLLS_JOB = "close_polls_job"
CERTIFY_RESULTS_JOB = "certify_results_job"
LIVE_VOTING_SENSOR = "live_voting_sensor"
LIVE_AGGREGATION_SENSOR = "live_aggregation_sensor"

# --- The voting day -----------------------------------------------------------------------
POLLS_CLOSING_SENSOR = "polls_closing_sensor"

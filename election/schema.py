"""The election database's tables, as DDL text (applied once, by registration).

Idempotent: every statement can run again on an existing database. The last statements
record VERSION, which every other stage checks instead of running DDL (election_io.migrations).
"""

from __future__ import annotations

# Raise it with every change to TABLES: registration then applies them again. 4: the ledger
# and race calls by contest; 5: an imported election's ballots; 6: ranked contests' rankings;
# 7: room for the running totals' updates in their pages.
VERSION = 7

TABLES = """
CREATE TABLE IF NOT EXISTS candidates (
    candidate_id      text PRIMARY KEY,
    candidate_name    text NOT NULL,
    party_affiliation text NOT NULL,
    biography         text,
    campaign_platform text,
    photo_url         text
);

CREATE TABLE IF NOT EXISTS voters (
    voter_id            text PRIMARY KEY,
    voter_name          text NOT NULL,
    date_of_birth       date NOT NULL,
    gender              text,
    nationality         text,
    registration_number text NOT NULL UNIQUE,
    address_street      text,
    address_city        text,
    address_county      text,
    county_fips         text,
    address_state       text NOT NULL,
    address_country     text,
    address_postcode    text,
    email               text,
    phone_number        text,
    picture             text,
    registered_age      integer
);
-- Voters live in counties (a roll registered before keeps its rows, without one).
ALTER TABLE voters ADD COLUMN IF NOT EXISTS address_county text;
ALTER TABLE voters ADD COLUMN IF NOT EXISTS county_fips text;

-- The election definition: where each contest is on the ballot, and its choices.
-- district_id: nation, state:XX, county:<five-digit FIPS> or precinct:<id>.
CREATE TABLE IF NOT EXISTS districts (
    district_id text PRIMARY KEY,
    kind        text NOT NULL CHECK (kind IN ('nation', 'state', 'county', 'precinct')),
    name        text NOT NULL,
    parent_id   text
);
CREATE TABLE IF NOT EXISTS contests (
    contest_id  text PRIMARY KEY,
    name        text NOT NULL,
    district_id text NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('plurality', 'measure', 'ranked')),
    vote_for    integer NOT NULL DEFAULT 1 CHECK (vote_for >= 1),
    rules       jsonb,           -- a ranked contest's tabulation rules, as RCTab names them
    position    integer NOT NULL -- ballot order
);
-- A candidate's choice_id is its candidate_id; a measure's choices are yes and no.
CREATE TABLE IF NOT EXISTS contest_choices (
    contest_id text NOT NULL,
    choice_id  text NOT NULL,
    name       text NOT NULL,
    party      text,
    position   integer NOT NULL,
    PRIMARY KEY (contest_id, choice_id)
);

-- polls_opened_at and polls_closed_at are the broker's clock (election_io.clock), the clock
-- that stamps the ballots, so the counting rules compare like with like.
CREATE TABLE IF NOT EXISTS elections (
    election_id     serial PRIMARY KEY,
    name            text NOT NULL,
    status          text NOT NULL DEFAULT 'registration'
                    CHECK (status IN ('registration', 'open', 'closed', 'certified')),
    polls_opened_at timestamptz,
    polls_closed_at timestamptz,
    certified_at    timestamptz
);
-- When the voting day ends: the polls close by themselves then (null: they close by hand).
ALTER TABLE elections ADD COLUMN IF NOT EXISTS polls_close_at timestamptz;

-- The accepted, anonymous ballots. No voter identity; cast_at is kept to the minute so
-- that it cannot be matched against the poll book's exact times; ballot_id is random, so
-- neither ids nor their order follow the poll book (a sequence would).
CREATE TABLE IF NOT EXISTS ballots (
    ballot_id     uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    candidate_id  text,          -- the national contest's one vote; null without one
    address_state text NOT NULL,
    county_fips   text,
    outcomes      jsonb,  -- {contest_id: [[choices voted], overvotes, undervotes(, a ranking)]}
    cast_at       timestamptz NOT NULL
);
-- A ledger made while ballot ids were a sequence gets random ones.
DO $$
BEGIN
    IF (SELECT data_type FROM information_schema.columns
        WHERE table_schema = current_schema() AND table_name = 'ballots'
          AND column_name = 'ballot_id') <> 'uuid' THEN
        ALTER TABLE ballots ALTER COLUMN ballot_id DROP DEFAULT,
            ALTER COLUMN ballot_id TYPE uuid USING gen_random_uuid(),
            ALTER COLUMN ballot_id SET DEFAULT gen_random_uuid();
        DROP SEQUENCE IF EXISTS ballots_ballot_id_seq;
    END IF;
END
$$;
-- Ballots keep every contest's outcome (a ledger from before the contests gets the columns).
ALTER TABLE ballots ADD COLUMN IF NOT EXISTS county_fips text;
ALTER TABLE ballots ADD COLUMN IF NOT EXISTS outcomes jsonb;
ALTER TABLE ballots ALTER COLUMN candidate_id DROP NOT NULL;

-- The poll book: who has voted and when; no candidate.
CREATE TABLE IF NOT EXISTS voter_turnout (
    voter_id text PRIMARY KEY,
    voted_at timestamptz NOT NULL
);

-- Every rejected message on votes_topic, by its offset, so every offset is accounted for.
CREATE TABLE IF NOT EXISTS rejected_ballots (
    topic_partition integer NOT NULL,
    topic_offset    bigint  NOT NULL,
    vote_id         text,
    reason          text NOT NULL,
    detail          text,
    raw             text,
    detected_at     timestamptz NOT NULL,
    PRIMARY KEY (topic_partition, topic_offset)
);

-- Running totals, updated in the same transaction as the ledger.
CREATE TABLE IF NOT EXISTS tally_by_candidate (
    candidate_id text PRIMARY KEY,
    total_votes  bigint NOT NULL,
    updated_at   timestamptz NOT NULL
);
CREATE TABLE IF NOT EXISTS tally_by_state (
    address_state text NOT NULL,
    candidate_id  text NOT NULL,
    total_votes   bigint NOT NULL,
    updated_at    timestamptz NOT NULL,
    PRIMARY KEY (address_state, candidate_id)
);

-- Running totals per contest and district (the contest_results topic), in the same
-- transaction: ballots, over- and undervotes (in votes), and votes per choice.
CREATE TABLE IF NOT EXISTS contest_totals (
    contest_id  text   NOT NULL,
    district_id text   NOT NULL,
    ballots     bigint NOT NULL,
    overvotes   bigint NOT NULL,
    undervotes  bigint NOT NULL,
    updated_at  timestamptz NOT NULL,
    PRIMARY KEY (contest_id, district_id)
);
-- A choice's votes in a contest and district; a choice with none has no row.
CREATE TABLE IF NOT EXISTS contest_choice_totals (
    contest_id  text   NOT NULL,
    district_id text   NOT NULL,
    choice_id   text   NOT NULL,
    votes       bigint NOT NULL,
    PRIMARY KEY (contest_id, district_id, choice_id)
);
-- A ranked contest's counted ballots per ranking pattern (over the contest's own district),
-- in the same transaction: its rounds are tabulated from these (election.rcv). ranking is the
-- entries in rank order as compact JSON (an id, null for a skipped rank, a list for an
-- overvote); [] is a ballot that ranks no one.
CREATE TABLE IF NOT EXISTS rcv_rankings (
    contest_id text   NOT NULL,
    ranking    text   NOT NULL,
    ballots    bigint NOT NULL,
    PRIMARY KEY (contest_id, ranking)
);

-- Which micro-batches of the live tally are committed: a replayed batch is skipped.
-- counted + rejected per batch = messages read, so offsets are accounted for.
CREATE TABLE IF NOT EXISTS tally_batches (
    query_name   text   NOT NULL,
    batch_id     bigint NOT NULL,
    messages     bigint NOT NULL,
    counted      bigint NOT NULL,
    rejected     bigint NOT NULL,
    end_offsets  jsonb,
    committed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (query_name, batch_id)
);

-- The vote generator's own record: each wave's slice of the ballot plan and how much of
-- it is confirmed delivered, so a restart resumes without rescanning the topic.
CREATE TABLE IF NOT EXISTS vote_waves (
    wave         integer PRIMARY KEY,
    run_id       text,
    plan_seed    integer NOT NULL,
    plan_start   bigint  NOT NULL,
    plan_stop    bigint  NOT NULL,
    plan_size    bigint  NOT NULL,
    sent         bigint  NOT NULL DEFAULT 0,
    status       text    NOT NULL,
    target_rate  double precision,
    started_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz
);

-- Race calls keyed by contest and district (schema 4).
-- A race is called only when the runner-up could not catch up. Keyed by (contest_id,
-- district_id) as race_calls messages are (contract.contest_key); a table of schema 3, keyed
-- by state ('*' the nation), holds only calls remade after every tally batch: it is dropped.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM information_schema.columns
               WHERE table_schema = current_schema() AND table_name = 'race_calls'
                 AND column_name = 'scope') THEN
        DROP TABLE race_calls;
    END IF;
END
$$;
CREATE TABLE IF NOT EXISTS race_calls (
    contest_id      text NOT NULL,
    district_id     text NOT NULL,
    leader          text,
    runner_up       text,
    leader_votes    bigint NOT NULL,
    runner_up_votes bigint NOT NULL,
    outstanding     bigint NOT NULL,
    called          boolean NOT NULL,
    final           boolean NOT NULL DEFAULT false,
    called_at       timestamptz,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (contest_id, district_id)
);
-- === end of schema 4's race calls =========================================================

-- The certified result: per candidate (address_state '*') and per state and candidate.
CREATE TABLE IF NOT EXISTS certified_results (
    address_state     text   NOT NULL,
    candidate_id      text   NOT NULL,
    total_votes       bigint NOT NULL,
    registered_voters bigint,
    voters_voted      bigint,
    certified_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (address_state, candidate_id)
);

-- The recount's whole document, which the reconciliation checks compare with the live tally.
CREATE TABLE IF NOT EXISTS certified_recounts (
    election_id integer PRIMARY KEY,
    document    jsonb NOT NULL,
    at          timestamptz NOT NULL DEFAULT now()
);

-- Turnout by age band and gender per state, after the polls close: counts, never a choice.
CREATE TABLE IF NOT EXISTS turnout_profile (
    address_state     text NOT NULL,
    age_band          text NOT NULL,
    gender            text NOT NULL,
    registered_voters bigint NOT NULL,
    voters_voted      bigint NOT NULL,
    PRIMARY KEY (address_state, age_band, gender)
);

-- Who did what to the election, and how it went.
CREATE TABLE IF NOT EXISTS audit_log (
    audit_id    bigserial PRIMARY KEY,
    election_id integer,
    at          timestamptz NOT NULL DEFAULT now(),
    actor       text NOT NULL,
    action      text NOT NULL,
    outcome     text NOT NULL,
    detail      jsonb
);

-- Which version of these tables the database holds: the stages check it, registration sets it.
CREATE TABLE IF NOT EXISTS schema_version (
    version    integer PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now()
);
"""

# An imported election's ballots, in the records' order, which the voting day replays (election.replay). Like
# votes_topic it holds a voter's choices: those of a published report, and of synthetic voters.
# selections is the contract's object as text, so its contests keep their ballot order.
TABLES += """
CREATE TABLE IF NOT EXISTS imported_ballots (
    position   integer PRIMARY KEY,  -- the record's place in the report(s), from 0
    voter_id   text NOT NULL UNIQUE,
    selections text NOT NULL
);
"""

# Every batch updates thousands of running totals in place: pages kept half free let each
# update stay on its page (a HOT update), with no new index entry and no bloat to vacuum.
TABLES += """
ALTER TABLE contest_totals SET (fillfactor = 50);
ALTER TABLE contest_choice_totals SET (fillfactor = 50);
ALTER TABLE rcv_rankings SET (fillfactor = 50);
ALTER TABLE race_calls SET (fillfactor = 50);
"""

TABLES += f"INSERT INTO schema_version (version) VALUES ({VERSION}) ON CONFLICT DO NOTHING;\n"

# The live tally's tables: what one count of the ballot log writes.
TALLY_TABLES = (
    "ballots",
    "voter_turnout",
    "rejected_ballots",
    "tally_by_candidate",
    "tally_by_state",
    "contest_totals",
    "contest_choice_totals",
    "rcv_rankings",
    "tally_batches",
)
# Everything that belongs to one election's ballots; emptied when a new election starts.
ELECTION_TABLES = (
    *TALLY_TABLES,
    "vote_waves",
    "race_calls",
    "certified_results",
    "certified_recounts",
    "turnout_profile",
)

# Records a round of race calls (arrays, one element per race: a contest in a district) in one
# statement. A race keeps the moment it was first called; each row says whether this round
# called it.
RACE_CALLS_UPSERT = """
INSERT INTO race_calls AS r (contest_id, district_id, leader, runner_up, leader_votes,
                             runner_up_votes, outstanding, called, final, called_at, updated_at)
SELECT c.contest_id, c.district_id, c.leader, c.runner_up, c.leader_votes, c.runner_up_votes,
       c.outstanding, c.called, %(final)s, CASE WHEN c.called THEN now() END, now()
FROM unnest(%(contest_id)s::text[], %(district_id)s::text[], %(leader)s::text[],
            %(runner_up)s::text[], %(leader_votes)s::bigint[], %(runner_up_votes)s::bigint[],
            %(outstanding)s::bigint[], %(called)s::boolean[])
     AS c(contest_id, district_id, leader, runner_up, leader_votes, runner_up_votes,
          outstanding, called)
ON CONFLICT (contest_id, district_id) DO UPDATE SET leader = excluded.leader,
    runner_up = excluded.runner_up, leader_votes = excluded.leader_votes,
    runner_up_votes = excluded.runner_up_votes, outstanding = excluded.outstanding,
    called = excluded.called, final = excluded.final,
    called_at = coalesce(r.called_at, excluded.called_at), updated_at = now()
RETURNING contest_id, district_id, called_at, updated_at,
          (called AND called_at = now()) AS newly_called
"""

RACE_CALL_COLUMNS = (
    "contest_id",
    "district_id",
    "leader",
    "runner_up",
    "leader_votes",
    "runner_up_votes",
    "outstanding",
    "called",
)


def race_calls_parameters(calls, final: bool = False) -> dict:
    """RACE_CALLS_UPSERT's parameters for the RaceCalls of election.race_call.call_contests."""
    found = list(calls)
    return {
        "final": final,
        **{column: [getattr(call, column) for call in found] for column in RACE_CALL_COLUMNS},
    }

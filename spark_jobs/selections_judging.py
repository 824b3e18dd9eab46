"""A ballot's selections judged by the domain once per pattern, and joined back to its messages.

Past well-formedness and placement, what a ballot's selections come to depends only on where
its voter lives and on the selections themselves: (state, county_fips, selections) is a
*pattern*, and the malformed selection (election.counting.kind_problem), not_on_ballot,
unknown_candidate and each contest's outcome are the same for every ballot of one pattern. A
batch of 100k ballots holds far fewer patterns than ballots (a state's voters mark the same few
choices), so each Arrow batch of the judging is dictionary-encoded by pattern, every distinct
pattern is judged once in Python by the domain's own functions (election.counting,
election.contest_totals, election.selections: never a second copy of a rule), and the verdicts
are taken back to the rows by their codes; a Python worker keeps the verdicts it gave for the
next batches (a pattern's verdict never changes within an election's definition).

Doing it inside the Arrow batch, rather than as a Spark `distinct` joined back, adds no shuffle
and reads the micro-batch once. A pattern's selections are text: compact JSON in the message's
order (selections_text), which the generator's plain form already is.

A pattern's verdict (VERDICT): reason (malformed, not_on_ballot, unknown_candidate or null),
detail, outcomes and candidate_id. An unknown voter's pattern (state null) is judged for its
malformed selection only; the unknown_voter detail names the voter, so the JVM writes it.
`outcomes` is the counted ballot's every contest on its voter's style, in ballot order, as
compact JSON text {contest_id: [[choice ids voted], overvotes, undervotes]}: the domain's
Outcome (election.selections), counted in votes as the contract counts them, so a later step
totals each contest and district by summing, without judging again (a contest left out is
[[], 0, vote_for]); a ranked contest's carries its whole ranking as a fourth item (its entries
in rank order, [] when left out), what its rounds are tabulated from. candidate_id is the national contest's choice when it holds exactly one
vote (the seed's aggregated topics), else null.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pyspark.sql import Column
from pyspark.sql import functions as F
from pyspark.sql import types as T

from election import contract, counting
from election.contest_totals import ContestTotals
from election.contests import NATIONAL_CONTEST, Contest
from election.selections import Entries, read_selections

VERDICT_FIELDS = ("reason", "detail", "outcomes", "candidate_id")
VERDICT = T.StructType([T.StructField(name, T.StringType()) for name in VERDICT_FIELDS])
_TEXT = pa.large_string()
MEMO_LIMIT = 200_000  # verdicts a Python worker keeps between batches
_JUDGES: dict[str, PatternJudge] = {}  # per Python worker, by definition


def selections_text(selections: Mapping[str, Entries]) -> str:
    """A ballot's selections as a pattern holds them: compact JSON, in the message's order."""
    return json.dumps(selections, ensure_ascii=False, separators=(",", ":"))


def seed_selections(candidate_id: Column) -> Column:
    """selections_text of a seed ballot, for a candidate id JSON needs no escape in."""
    return F.concat(F.lit(f'{{"{NATIONAL_CONTEST}":["'), candidate_id, F.lit('"]}'))


class PatternJudge:
    """One definition's verdicts on patterns, each judged once."""

    def __init__(self, contests: tuple[Contest, ...]):
        self.totals = ContestTotals(contests, ())
        self.memo: dict[str, tuple] = {}

    def verdict(self, state: str | None, county: str | None, text: str) -> tuple:
        """(reason, detail, outcomes, candidate_id) of a well-formed, well-placed ballot."""
        selections = read_selections(json.loads(text))
        if (why := counting.kind_problem(self.totals, selections)) is not None:
            return contract.MALFORMED, why, None, None
        if state is None:  # not on the roll: the JVM names the voter
            return None, None, None, None
        home = (state, county)
        if (broken := counting.style_problem(self.totals, home, selections)) is not None:
            return *broken, None, None
        outcomes, national = {}, None
        for rule, _rows in self.totals.style(home).adds:
            contest_id = rule.contest.contest_id
            outcome = rule.outcome(selections.get(contest_id))
            outcomes[contest_id] = [outcome.votes, outcome.overvotes, outcome.undervotes]
            if rule.ranked:
                outcomes[contest_id].append(selections.get(contest_id, ()))
            if contest_id == NATIONAL_CONTEST and len(outcome.votes) == 1:
                national = outcome.votes[0]
        return None, None, selections_text(outcomes), national

    def judge(self, states: pa.Array, counties: pa.Array, texts: pa.Array) -> pa.StructArray:
        """Every row's verdict, each distinct pattern judged once (null selections: nulls)."""
        texts = texts.cast(_TEXT)  # Spark hands strings over as large or not, by its settings
        keys = pc.binary_join_element_wise(
            _marked(states), _marked(counties), texts, pa.scalar("\x00", _TEXT)
        )
        encoded = pc.dictionary_encode(keys)
        codes = encoded.indices
        found = codes.drop_null().to_numpy(zero_copy_only=False)
        _, first = np.unique(found, return_index=True)  # codes number patterns as first met
        rows = np.flatnonzero(pc.is_valid(codes).to_numpy(zero_copy_only=False))[first]
        patterns = encoded.dictionary.to_pylist()
        if len(self.memo) > MEMO_LIMIT:
            self.memo.clear()
        verdicts = []
        for pattern, row in zip(patterns, rows.tolist(), strict=True):
            verdict = self.memo.get(pattern)
            if verdict is None:
                verdict = self.memo[pattern] = self.verdict(
                    states[row].as_py(), counties[row].as_py(), texts[row].as_py()
                )
            verdicts.append(verdict)
        columns = [
            pc.take(pa.array([v[i] for v in verdicts], pa.string()), codes)
            for i in range(len(VERDICT_FIELDS))
        ]
        return pa.StructArray.from_arrays(columns, names=list(VERDICT_FIELDS))


def _marked(values: pa.Array) -> pa.Array:
    # null and "" stay apart in a pattern's key (the roll's text never holds NUL)
    values = values.cast(_TEXT)
    joined = pc.binary_join_element_wise(pa.scalar("+", _TEXT), values, pa.scalar("", _TEXT))
    return pc.if_else(pc.is_null(values), pa.scalar("-", _TEXT), joined)


def pattern_verdict(contests: tuple[Contest, ...]):
    """The Arrow UDF (state, county_fips, selections) -> VERDICT for an election's contests."""
    digest = hashlib.sha256(repr(contests).encode("utf-8", "surrogatepass")).hexdigest()

    def judged(states: pa.Array, counties: pa.Array, texts: pa.Array) -> pa.Array:
        judge = _JUDGES.get(digest)
        if judge is None:
            if len(_JUDGES) > 4:  # a worker outlives elections: keep the latest few
                _JUDGES.clear()
            judge = _JUDGES[digest] = PatternJudge(contests)
        return judge.judge(states, counties, texts)

    return F.arrow_udf(judged, VERDICT)

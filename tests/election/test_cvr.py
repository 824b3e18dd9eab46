"""Importing cast vote record reports (NIST SP 1500-103, JSON): RCTab's test sets, and the one
line a malformed report gets."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from election.contests import NATION, PLURALITY, PRECINCT_KIND, RANKED
from election.cvr import MOST_RANKS, CvrError, import_report, import_reports
from election.cvr_catalog import UNDECLARED_WRITE_INS, WRITE_INS_ID

FIXTURES = Path(__file__).parent / "cvr_fixtures"


def fixture(name: str):
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def error_of(document, config=None) -> str:
    with pytest.raises(CvrError) as caught:
        import_report(document, config)
    message = str(caught.value)
    assert "\n" not in message
    return message


def overvote_set():
    return fixture("test_set_1_exhaust_at_overvote_cdf.json")


def names(contest) -> list[str]:
    return [c.name for c in contest.choices]


# --- RCTab's test sets ----------------------------------------------------------------------


def test_rctab_multi_file_aliases_join_the_files_under_the_configuration_names():
    config = fixture("aliases_cdf_json_config.json")
    reports = [(f"file{n}.json", fixture(f"aliases_cdf_json_file{n}.json")) for n in (1, 2)]
    imported = import_reports(reports, config)
    (contest,) = imported.definition.contests
    assert (contest.contest_id, contest.kind, contest.district_id) == (
        "contest-001",
        RANKED,
        NATION,
    )
    assert contest.rules == config["rules"]
    assert [c.choice_id for c in contest.choices] == [f"candidate-{x}" for x in "abcd"]
    assert names(contest) == [
        "Unused Display Name Candidate A",  # the configuration's name, not file 1's or file 2's
        "Candidate B Name File 1",
        "Candidate C Name File 1",
        "Candidate D Name File 1",
    ]
    assert [d.district_id for d in imported.definition.districts] == [NATION]
    assert imported.definition.districts[0].name == "TestSets_Single_winner"
    assert len(imported.ballots) == 10
    # the first record ranks D first and second (a duplicate is the rules' to judge), then A
    assert imported.ballots[0].selections == {
        "contest-001": ["candidate-d", "candidate-d", "candidate-a"]
    }
    assert len({b.voter_id for b in imported.ballots}) == 10  # the files' records stay apart


def test_rctab_overvotes_and_skipped_ranks_take_the_contract_shape():
    imported = import_report(overvote_set())
    (contest,) = imported.definition.contests
    assert contest.kind == RANKED  # no VoteVariation: it ranks past 1
    assert contest.rules is None
    a, b, c, d = (f"c-candidate_{x}_name" for x in "abcd")
    assert [ballot.selections["contest-001"] for ballot in imported.ballots] == [
        [[a, b], None, c, d],  # A and B both first: an overvote at rank 1; rank 2 skipped
        [b],  # read from its current snapshot, RCTab's last round: only B is still allocable
        [c, [b, d], a],
        [a, None, None, c],
        [d, c, None, b],
    ]


def test_rctab_precincts_become_districts_and_place_their_ballots():
    imported = import_report(fixture("precinct_example_cdf.json"))
    nation, *precincts = imported.definition.districts
    assert (nation.district_id, nation.name) == (NATION, "Minneapolis, MN")
    assert [(d.district_id, d.kind, d.parent_id) for d in precincts][0] == (
        "precinct:gpu-21",
        PRECINCT_KIND,
        NATION,
    )
    assert precincts[0].name == "MINNEAPOLIS W-10 P-02"
    assert [b.district_id for b in imported.ballots] == [
        "precinct:gpu-21",
        "precinct:gpu-35",
        "precinct:gpu-51",
        "precinct:gpu-58",
    ]
    # IsAllocable "no" (RCTab wrote it for candidates out by the last round) is no mark
    assert imported.ballots[1].selections == {"contest-001": [None, "c-jacob_frey"]}
    assert UNDECLARED_WRITE_INS in names(imported.definition.contests[0])


def test_rctab_dominion_conversion_names_a_selection_its_contest_lacks():
    # RCTab's own expected output of a Dominion conversion refers to "cs-9"; RCTab refuses it too
    assert error_of(fixture("conversions_from_dominion_cdf.json")) == (
        'CVR[0]: CVRSnapshot[0].CVRContest[0].CVRContestSelection[0].ContestSelectionId "cs-9" '
        'names no ContestSelection of contest "contest-001"'
    )


def test_rctab_multi_file_sources_of_one_report_twice_are_twice_the_ballots():
    # test_set_8_multi_cdf reads two identical files: each record is a ballot of its own
    imported = import_reports([("cvr_1.json", overvote_set()), ("cvr_2.json", overvote_set())])
    assert len(imported.definition.contests) == 1
    assert len({b.voter_id for b in imported.ballots}) == len(imported.ballots) == 10
    assert [b.selections for b in imported.ballots[:5]] == [
        b.selections for b in imported.ballots[5:]
    ]


def test_the_same_report_imports_to_the_same_voters():
    first, again = import_report(overvote_set()), import_report(overvote_set())
    assert [b.voter_id for b in first.ballots] == [b.voter_id for b in again.ballots]


# --- what the report says of its contests ----------------------------------------------------


def test_a_contest_without_ranks_is_plurality_with_its_votes_allowed():
    report = overvote_set()
    contest = report["Election"][0]["Contest"][0]
    contest["VoteVariation"], contest["VotesAllowed"] = "plurality", 2
    imported = import_report(report)
    (read,) = imported.definition.contests
    assert (read.kind, read.vote_for) == (PLURALITY, 2)
    a, b, c, d = (f"c-candidate_{x}_name" for x in "abcd")
    assert imported.ballots[0].selections["contest-001"] == [a, b, c, d]


def test_the_configuration_ranks_the_contest_it_tabulates():
    report = overvote_set()
    report["Election"][0]["Contest"][0]["VoteVariation"] = "other"
    config = {"cvrFileSources": [{"contestId": "test set 1"}], "rules": {"overvoteRule": "x"}}
    (contest,) = import_report(report, config).definition.contests
    assert (contest.kind, contest.rules) == (RANKED, {"overvoteRule": "x"})


def test_write_ins_are_rctabs_one_undeclared_write_in_candidate():
    report = overvote_set()
    selections = report["Election"][0]["Contest"][0]["ContestSelection"]
    selections.append({"@id": "cs-write-in", "IsWriteIn": True})
    first = report["CVR"][0]["CVRSnapshot"][0]["CVRContest"][0]["CVRContestSelection"]
    first.append(
        {"ContestSelectionId": "cs-write-in", "SelectionPosition": [{"Rank": 5, "NumberVotes": 1}]}
    )
    first[0]["SelectionPosition"][0]["CVRWriteIn"] = {"Text": "Mickey Mouse"}
    imported = import_report(report)
    (contest,) = imported.definition.contests
    assert contest.choices[-1].choice_id == WRITE_INS_ID
    assert contest.choices[-1].name == UNDECLARED_WRITE_INS
    b, c, d = (f"c-candidate_{x}_name" for x in "bcd")
    assert imported.ballots[0].selections["contest-001"] == [
        [WRITE_INS_ID, b],
        None,
        c,
        d,
        WRITE_INS_ID,
    ]


def test_a_rank_on_the_selection_itself_is_read_as_rctab_reads_it():
    report = overvote_set()
    selection = report["CVR"][3]["CVRSnapshot"][0]["CVRContest"][0]["CVRContestSelection"][1]
    del selection["SelectionPosition"]
    selection["Rank"] = 2
    assert import_report(report).ballots[3].selections["contest-001"] == [
        "c-candidate_a_name",
        "c-candidate_c_name",
    ]


def test_a_record_names_a_unique_id_and_a_second_file_cannot_repeat_it():
    report = overvote_set()
    for index, record in enumerate(report["CVR"]):
        record["UniqueId"] = f"A-{index}"
    with pytest.raises(CvrError) as caught:
        import_reports([("one.json", report), ("two.json", copy.deepcopy(report))])
    assert (
        str(caught.value)
        == 'two.json: CVR[0] (UniqueId "A-0"): UniqueId is also an earlier record\'s'
    )


# --- one line for a malformed report ---------------------------------------------------------


def _position(report, record=0, selection=0):
    snapshot = report["CVR"][record]["CVRSnapshot"][0]
    return snapshot["CVRContest"][0]["CVRContestSelection"][selection]["SelectionPosition"][0]


MARK = "CVRSnapshot[0].CVRContest[0].CVRContestSelection[0].SelectionPosition[0]"


@pytest.mark.parametrize(
    ("rank", "shown"),
    [(0, "0"), (-1, "-1"), (MOST_RANKS + 1, str(MOST_RANKS + 1)), (10**400, "a 1329-bit number")]
    + [(1.0, "a number"), ("1", "a string"), (True, "a boolean"), (None, "null")],
)
def test_a_rank_that_is_no_rank_names_its_record_and_field(rank, shown):
    report = overvote_set()
    report["CVR"][2]["UniqueId"] = "A-7"
    _position(report, record=2)["Rank"] = rank
    assert error_of(report) == (
        f'CVR[2] (UniqueId "A-7"): {MARK}.Rank is {shown}, not a whole number from 1 to {MOST_RANKS}'
    )


def test_a_rank_missing_in_a_ranked_contest_names_its_record():
    report = overvote_set()
    del _position(report, record=4)["Rank"]
    assert error_of(report) == f'CVR[4]: {MARK}.Rank is missing in ranked contest "contest-001"'


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda r: r.pop("Election"), "Election is missing"),
        (lambda r: r.update(CVR={}), "CVR is not a list but an object"),
        (lambda r: r["CVR"].__setitem__(1, []), "CVR[1] is not an object but an array"),
        (
            lambda r: r["CVR"][0].update(CurrentSnapshotId="nope"),
            'CVR[0]: CurrentSnapshotId "nope" names no CVRSnapshot',
        ),
        (
            lambda r: r["CVR"][0].update(BallotStyleUnitId="gpu-9"),
            'CVR[0]: BallotStyleUnitId "gpu-9" names no GpUnit of the file',
        ),
        (
            lambda r: r["CVR"][0].update(ElectionId="other"),
            'CVR[0]: ElectionId "other" names no Election of the file',
        ),
        (
            lambda r: r["CVR"][0]["CVRSnapshot"][0]["CVRContest"][0].update(ContestId="x\0y"),
            'CVR[0]: CVRSnapshot[0].CVRContest[0].ContestId "x\\u0000y" names no Contest of the file',
        ),
        (
            lambda r: r["CVR"][0]["CVRSnapshot"][0]["CVRContest"].append(
                r["CVR"][0]["CVRSnapshot"][0]["CVRContest"][0]
            ),
            'CVR[0]: CVRSnapshot[0].CVRContest[1].ContestId "contest-001" appears twice in the snapshot',
        ),
        (
            lambda r: _position(r).update(HasIndication="maybe"),
            f"CVR[0]: {MARK}.HasIndication is not one of yes, no, unknown",
        ),
        (
            lambda r: _position(r).update(NumberVotes=2),
            f"CVR[0]: {MARK}.NumberVotes is 2, not a whole number from 0 to 1",
        ),
        (
            lambda r: r["Election"][0]["Candidate"].append(r["Election"][0]["Candidate"][0]),
            'Election[0].Candidate[4].@id "c-candidate_a_name" appears twice in the file',
        ),
        (
            lambda r: r["Election"][0]["Candidate"][0].update(Name="A\nB"),
            'Election[0].Candidate[0].Name "A\\nB" is not one line of printable text',
        ),
        (
            lambda r: r["Election"][0]["Contest"][0].update({"@id": "a|b"}),
            "Election[0].Contest[0].@id \"a|b\" is not letters, digits, '_', '.', ':' or '-' "
            "(at most 100)",
        ),
        (
            lambda r: r["Election"][0]["Contest"][0]["ContestSelection"][1].update(
                CandidateIds=["nobody"]
            ),
            'Election[0].Contest[0].ContestSelection[1].CandidateIds[0] "nobody" names no Candidate',
        ),
        (
            lambda r: r["Election"][0]["Contest"][0].update(VotesAllowed=10**30),
            "Election[0].Contest[0].VotesAllowed is a 100-bit number, not a whole number from 1 "
            "to 1000",
        ),
    ],
)
def test_a_malformed_report_gets_one_line_naming_the_record_and_field(change, expected):
    report = overvote_set()
    change(report)
    assert error_of(report) == expected


def test_a_malformed_configuration_gets_one_line():
    bad = {"candidates": [{"name": "A", "aliases": ["X"]}, {"name": "B", "aliases": ["X"]}]}
    assert error_of(overvote_set(), bad) == (
        'configuration: candidates[1] gives the name "X" to two candidates'
    )
    assert error_of(overvote_set(), {"rules": {"seed": float("nan")}}) == (
        "configuration: rules holds a value JSON cannot write"
    )
    assert error_of(overvote_set(), []) == (
        "configuration: the document is not an object but an array"
    )

"""A ranked contest's rounds read off rcv_rounds messages built as the live tally builds them
(election.messages.rcv_rounds), and the page's table, bars and transfers drawn from them."""

from __future__ import annotations

from election import contract
from election.rcv import contest_rounds
from streamlit_app import runoff, runoff_charts
from streamlit_app.reader import ResultSnapshot, parse_time
from streamlit_app.runoff import Flow

from .ranked_contest import AT, MAJORITY, MAYOR, TRANSFER, rounds_message

COLORS = {"Ann Ames": "#1f77b4", "Ben Bell": "#d62728", "Cal Cole": "#2ca02c"}


def message(rankings: dict) -> dict:
    """The contest's rcv_rounds value, as the live tally publishes it."""
    return rounds_message(rankings)[1]


def test_reads_the_rounds_the_tally_published():
    found = runoff.read_runoff(message(TRANSFER))

    expected = contest_rounds(MAYOR, TRANSFER)
    assert [(r.number, r.tally, r.threshold, r.elected, r.eliminated) for r in found.rounds] == [
        (r.number, r.tally, r.threshold, r.elected, r.eliminated) for r in expected
    ]
    assert [r.transfers for r in found.rounds] == [r.transfers for r in expected]
    assert found.rounds[0].transfers == {"Cal Cole": {"Ben Bell": 2, "exhausted": 1}}
    assert (found.ballots, found.updated_at) == (13, parse_time(AT))
    assert found.candidates == ("Ann Ames", "Ben Bell", "Cal Cole")
    assert found.elected() == ("Ben Bell", 2)


def test_a_contest_s_rounds_are_those_of_its_own_district():
    key = contract.contest_key("mayor-OH", "state:OH")
    snapshot = ResultSnapshot(rcv_rounds={key: message(TRANSFER)})
    assert runoff.contest_runoff(snapshot, MAYOR).ballots == 13
    assert runoff.contest_runoff(ResultSnapshot(), MAYOR) is None
    elsewhere = ResultSnapshot(rcv_rounds={"mayor-OH|county:39035": message(TRANSFER)})
    assert runoff.contest_runoff(elsewhere, MAYOR) is None


def test_the_table_has_each_round_s_threshold_inactive_ballots_and_decisions():
    table = runoff.rounds_table(runoff.read_runoff(message(TRANSFER)))

    assert table.to_dict("records") == [
        {
            "Round": 1,
            "Continuing ballots": 12,
            "Threshold": 7,
            "Inactive ballots": 0,
            "Overvotes": 0,
            "Skipped rankings": 0,
            "Exhausted choices": 0,
            "Repeated rankings": 0,
            "Elected": "",
            "Eliminated": "Cal Cole",
        },
        {
            "Round": 2,
            "Continuing ballots": 11,
            "Threshold": 6,
            "Inactive ballots": 1,
            "Overvotes": 0,
            "Skipped rankings": 0,
            "Exhausted choices": 1,
            "Repeated rankings": 0,
            "Elected": "Ben Bell",
            "Eliminated": "",
        },
    ]


def test_the_bars_group_each_candidate_s_votes_by_round_against_the_threshold():
    figure = runoff_charts.runoff_bars(
        runoff.read_runoff(message(TRANSFER)), COLORS
    ).to_plotly_json()

    traces = {trace["name"]: trace for trace in figure["data"]}
    assert list(traces) == ["Ann Ames", "Ben Bell", "Cal Cole", "Inactive ballots", "Threshold"]
    assert list(traces["Ann Ames"]["x"]) == ["Round 1", "Round 2"]
    assert [list(traces[name]["y"]) for name in COLORS] == [[5, 5], [4, 6], [3, None]]
    assert [traces[name]["marker"]["color"] for name in COLORS] == list(COLORS.values())
    assert list(traces["Inactive ballots"]["y"]) == [0, 1]
    assert list(traces["Threshold"]["y"]) == [7, 6]
    assert figure["layout"]["barmode"] == "group"


def test_the_sankey_shows_where_the_eliminated_candidate_s_ballots_went():
    found = runoff.read_runoff(message(TRANSFER))
    flows = runoff.flows(found)

    assert flows == [
        Flow(1, "Ann Ames", "Ann Ames", 5, transfer=False),
        Flow(1, "Ben Bell", "Ben Bell", 4, transfer=False),
        Flow(1, "Cal Cole", "Ben Bell", 2, transfer=True),
        Flow(1, "Cal Cole", "exhausted", 1, transfer=True),
    ]
    (sankey,) = runoff_charts.transfers_sankey(flows, COLORS).to_plotly_json()["data"]
    labels = list(sankey["node"]["label"])
    assert labels == ["Ann Ames", "Ann Ames", "Ben Bell", "Ben Bell", "Cal Cole", "Exhausted"]
    link = sankey["link"]
    moved = [
        (labels[s], labels[t], v)
        for s, t, v in zip(link["source"], link["target"], link["value"], strict=True)
    ]
    assert moved[2:] == [("Cal Cole", "Ben Bell", 2), ("Cal Cole", "Exhausted", 1)]
    assert link["color"][2] == "rgba(44,160,44,0.55)", "a transfer in its candidate's colour"


def test_a_first_round_majority_has_one_round_and_nothing_transferred():
    found = runoff.read_runoff(message(MAJORITY))

    assert len(found.rounds) == 1 and found.elected() == ("Ann Ames", 1)
    assert runoff.flows(found) == []
    assert runoff.rounds_table(found)[["Round", "Threshold", "Elected"]].to_dict("records") == [
        {"Round": 1, "Threshold": 5, "Elected": "Ann Ames"}
    ]
    bars = runoff_charts.runoff_bars(found, COLORS).to_plotly_json()["data"]
    assert [trace["name"] for trace in bars] == ["Ann Ames", "Ben Bell", "Cal Cole", "Threshold"]


def test_a_hostile_rounds_message_changes_what_is_shown_but_never_breaks_it():
    assert runoff.read_runoff({"results": []}) is None
    assert runoff.read_runoff({"results": ["round one", 2]}) is None
    hostile = {
        "ballots": "lots",
        "updated_at": "yesterday",
        "results": [
            "junk",
            {
                "tally": {"A": "NaN", "B": "-3", "C": "1e400", "D": True, "E": "7", "F": 2.0},
                "threshold": None,
                "inactiveBallots": ["overvotes"],
                "tallyResults": [
                    {"eliminated": 5},
                    "junk",
                    {"eliminated": "A", "transfers": {"E": "x", "exhausted": "2"}},
                    {"elected": "E", "transfers": "everyone"},
                ],
            },
            {"tally": "E", "tallyResults": {"elected": "E"}},
        ],
    }
    found = runoff.read_runoff(hostile)

    first, second = found.rounds
    assert first.tally == {"A": 0, "B": 0, "C": 0, "D": 0, "E": 7, "F": 2}
    assert (first.threshold, sum(first.inactive.values())) == (0, 0)
    assert (first.eliminated, first.elected) == (("A",), ("E",))
    assert first.transfers == {"A": {"exhausted": 2}}
    assert (second.tally, second.elected) == ({}, ())
    assert (found.ballots, found.updated_at) == (0, None)
    assert found.elected() == ("E", 1)
    runoff_charts.runoff_bars(found, COLORS)
    runoff_charts.transfers_sankey(runoff.flows(found), COLORS)
    runoff.rounds_table(found)

"""A voter's ballot style from the roll as it is kept: states by name, counties by FIPS."""

from election.contests import PLURALITY, Choice, Contest, ballot_style, voter_districts


def contest(contest_id: str, district_id: str, position: int) -> Contest:
    return Contest(contest_id, contest_id, district_id, PLURALITY, (Choice("a", "A"),), 1, position)


def test_the_roll_names_its_states_and_the_districts_code_them():
    assert voter_districts("Ohio", "39049") == ("nation", "state:OH", "county:39049")
    assert voter_districts("OH", None) == ("nation", "state:OH")


def test_a_voter_gets_the_contests_of_every_district_they_live_in_in_ballot_order():
    contests = [
        contest("county", "county:39049", 3),
        contest("senate", "state:OH", 2),
        contest("national", "nation", 1),
        contest("other_state", "state:UT", 4),
        contest("other_county", "county:39035", 5),
    ]
    style = ballot_style(contests, "Ohio", "39049")
    assert [c.contest_id for c in style] == ["national", "senate", "county"]
    # abroad, or before the roll knows a county: the nation's contests only, and the state's
    assert [c.contest_id for c in ballot_style(contests, "Ontario", None)] == ["national"]

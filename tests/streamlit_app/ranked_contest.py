"""A small election with a ranked contest, and its rcv_rounds messages built as the live tally
builds them (election.rcv.contest_rounds, election.messages.rcv_rounds)."""

from __future__ import annotations

from election import messages
from election.definition import parse_definition
from election.rcv import contest_rounds
from election.selections import Entries

AT = "2026-11-03T21:04:05Z"
DEFINITION = parse_definition(
    """
contests:
  - {id: national, name: President, district: nation}
  - id: mayor-OH
    name: Mayor of Ohio
    district: state:OH
    kind: ranked
    choices:
      - {id: m-1, name: Ann Ames, party: Harbor Party}
      - {id: m-2, name: Ben Bell, party: Prairie Alliance}
      - {id: m-3, name: Cal Cole}
"""
)
MAYOR = next(c for c in DEFINITION.contests if c.contest_id == "mayor-OH")
# Round 1: Ann 5, Ben 4, Cal 3 of 12 (threshold 7); one ballot ranks no one. Cal goes: two of
# Cal's ballots rank Ben next, one ranks no one else. Round 2: Ben's 6 of 11 reach 6.
TRANSFER: dict[Entries, int] = {("m-1",): 5, ("m-2",): 4, ("m-3", "m-2"): 2, ("m-3",): 1, (): 1}
# Ann holds 6 of 9 first choices: a majority in the first round.
MAJORITY: dict[Entries, int] = {("m-1",): 6, ("m-2", "m-1"): 2, ("m-3",): 1}


def rounds_message(
    rankings: dict[Entries, int], district_id: str = "state:OH", at: str = AT
) -> tuple[str, dict]:
    """The key and value of the contest's rcv_rounds message for those ballots."""
    rounds = contest_rounds(MAYOR, rankings)
    return messages.rcv_rounds("mayor-OH", district_id, rounds, {"contest": MAYOR.name}, at)

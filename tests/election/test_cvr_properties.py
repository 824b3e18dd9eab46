"""Rules that hold for every report: any JSON imports or gets one CvrError, a written report
reads back the same, and what the test writer writes is a report the NIST schema accepts."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import jsonschema
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from election import contests as ballot
from election.cvr import CvrError, import_report
from election.definition import Definition
from election.selections import choices_named, kind_error, read_selections
from tests.election.cdf_writer import cdf_report

FIXTURES = Path(__file__).parent / "cvr_fixtures"
SCHEMA = json.loads((FIXTURES / "nist_cvr_schema.json").read_text(encoding="utf-8"))
OVERVOTES = json.loads((FIXTURES / "test_set_1_exhaust_at_overvote_cdf.json").read_text())

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats()
    | st.text(max_size=8)
    | st.sampled_from(["yes", "no", "unknown", "contest-001", "cs-candidate_a_name", "ballot-1"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=30,
)


def imports_or_one_error(document, config=None) -> None:
    try:
        imported = import_report(document, config)
    except CvrError as error:
        assert str(error) and "\n" not in str(error)
    else:
        ballots_keep_the_contract(imported)


def ballots_keep_the_contract(imported) -> None:
    """Each ballot's selections are what votes_topic carries, judged by the domain's own rules."""
    contests = {c.contest_id: c for c in imported.definition.contests}
    districts = {d.district_id for d in imported.definition.districts}
    for record in imported.ballots:
        assert record.district_id in districts
        for contest_id, entries in read_selections(
            json.loads(json.dumps(record.selections))
        ).items():
            assert kind_error(contests[contest_id], entries) is None
            assert set(choices_named(entries)) <= contests[contest_id].choice_ids


@settings(max_examples=300, deadline=None)
@given(json_values, json_values | st.none())
def test_any_json_document_imports_or_gets_one_error(document, config):
    imports_or_one_error(document, config)


def _nodes(value, path=()):
    """Every (path, value) in a document, the document itself first."""
    yield path, value
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from _nodes(inner, (*path, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from _nodes(inner, (*path, index))


ALIASES = json.loads((FIXTURES / "aliases_cdf_json_config.json").read_text())
REPORT_PATHS = [path for path, _ in _nodes(OVERVOTES) if path]
CONFIG_PATHS = [path for path, _ in _nodes(ALIASES) if path]


def _broken(document, changes):
    """A copy of the document with each (path, value) set, or the key removed for KeyError."""
    document = json.loads(json.dumps(document))
    for path, value in changes:
        parent = document
        for step in path[:-1]:
            try:
                parent = parent[step]
            except (KeyError, IndexError, TypeError):
                break
        else:
            if isinstance(parent, dict) and value is KeyError:
                parent.pop(path[-1], None)
            elif isinstance(parent, dict | list) and value is not KeyError:
                with contextlib.suppress(IndexError, TypeError):
                    parent[path[-1]] = value
    return document


def _changes(paths):
    return st.lists(st.tuples(st.sampled_from(paths), json_values | st.just(KeyError)), max_size=3)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_changes(REPORT_PATHS), _changes(CONFIG_PATHS))
def test_a_report_with_any_field_broken_imports_or_gets_one_error(report_changes, config_changes):
    imports_or_one_error(_broken(OVERVOTES, report_changes), _broken(ALIASES, config_changes))


def test_deeply_nested_junk_is_one_error_not_a_crash():
    deep: list = []
    for _ in range(100_000):
        deep = [deep]
    report = json.loads(json.dumps(OVERVOTES))
    report["CVR"][0]["Code"] = deep  # a field the import does not read
    report["CVR"][1] = deep
    imports_or_one_error(report)
    imports_or_one_error(OVERVOTES, {"rules": {"junk": deep}})


# --- the round trip through a written report ---------------------------------------------------


@st.composite
def elections(draw):
    precincts = [
        ballot.District(f"precinct:P{i}", ballot.PRECINCT_KIND, f"Precinct {i}", ballot.NATION)
        for i in range(draw(st.integers(0, 3)))
    ]
    districts = (
        ballot.District(ballot.NATION, ballot.NATION_KIND, "Springfield", None),
        *precincts,
    )
    races = []
    for c in range(draw(st.integers(1, 3))):
        ranked = draw(st.booleans())
        choices = tuple(
            ballot.Choice(f"k{c}-{j}", f"Candidate {c}.{j}", None, j + 1)
            for j in range(draw(st.integers(1, 5)))
        )
        vote_for = 1 if ranked else draw(st.integers(1, len(choices)))
        kind = ballot.RANKED if ranked else ballot.PLURALITY
        races.append(
            ballot.Contest(f"race-{c}", f"Race {c}", ballot.NATION, kind, choices, vote_for, c + 1)
        )
    ballots = []
    for index in range(draw(st.integers(0, 6))):
        district = draw(st.sampled_from([d.district_id for d in districts]))
        selections = {}
        for contest in races:
            if draw(st.booleans()):
                selections[contest.contest_id] = draw(_selections(contest))
        ballots.append((f"B-{index}", district, selections))
    return Definition(tuple(races), districts), ballots


def _selections(contest: ballot.Contest):
    ids = [c.choice_id for c in contest.choices]
    if contest.kind == ballot.PLURALITY:
        return st.lists(st.sampled_from(ids), unique=True, max_size=len(ids))
    overvote = st.lists(st.sampled_from(ids), min_size=2, max_size=len(ids), unique=True)
    entry = st.none() | st.sampled_from(ids) | (overvote if len(ids) > 1 else st.nothing())
    return st.lists(entry, max_size=6).map(_without_trailing_skips)


def _without_trailing_skips(entries: list) -> list:
    while entries and entries[-1] is None:
        entries.pop()  # a rank skipped after the last mark leaves no trace in a report
    return entries


def _normal(selections: dict) -> dict:
    """Selections with each rank's overvote in one order (a report keeps no order within a rank)."""
    return {
        cid: [sorted(e) if isinstance(e, list) else e for e in entries]
        for cid, entries in selections.items()
    }


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(elections())
def test_a_written_report_reads_back_the_same_election(election):
    definition, ballots = election
    report = cdf_report(definition, ballots)
    jsonschema.Draft4Validator(SCHEMA).validate(report)
    imported = import_report(json.loads(json.dumps(report)))
    ballots_keep_the_contract(imported)
    assert imported.definition.districts == definition.districts
    assert imported.definition.contests == definition.contests
    assert [(b.district_id, _normal(dict(b.selections))) for b in imported.ballots] == [
        (district, _normal(selections)) for _, district, selections in ballots
    ]
    assert len({b.voter_id for b in imported.ballots}) == len(ballots)


def test_a_fixture_election_written_out_is_a_report_the_nist_schema_accepts():
    imported = import_report(OVERVOTES)
    ballots = [(f"U{i}", b.district_id, b.selections) for i, b in enumerate(imported.ballots)]
    report = cdf_report(imported.definition, ballots)
    jsonschema.Draft4Validator(SCHEMA).validate(report)
    again = import_report(report)
    assert [_normal(dict(b.selections)) for b in again.ballots] == [
        _normal(dict(b.selections)) for b in imported.ballots
    ]
    errors = list(jsonschema.Draft4Validator(SCHEMA).iter_errors(OVERVOTES))
    assert errors  # RCTab's own files are not schema-valid (`@type` "CVR"), yet import

"""A real election, imported: a cast vote record report and its tabulation rules in
place of the registered roll and the turnout model (`import_cvr_job`, then the voting day)."""

import dagster as dg

from election import contract
from election.contests import NATION
from election.cvr import CvrError
from election.settings import setting
from election_assets import lifecycle
from election_assets.registration import markdown_table
from election_assets.resources import PostgresResource
from election_io.cvr_import import read_import, write_import


class CvrImportConfig(dg.Config):
    """Which report, and which tabulation rules."""

    cvr_path: str = ""  # a report (JSON) or a folder of them; empty: CVR_PATH
    rules_path: str = ""  # an RCTab configuration file; empty: CVR_RULES_PATH (or no rules)


@dg.asset(group_name="import", kinds={"postgres"})
def imported_election(
    context: dg.AssetExecutionContext, config: CvrImportConfig, postgres: PostgresResource
) -> dg.MaterializeResult:
    """A real election from its cast vote records: definition, a voter per record, ballots."""
    cvr_path = config.cvr_path or setting("CVR_PATH")
    rules_path = config.rules_path or setting("CVR_RULES_PATH")
    try:
        imported = read_import(cvr_path, rules_path or None)
    except CvrError as exc:
        raise dg.Failure(f"the cast vote record report cannot be imported: {exc}") from None
    definition = imported.definition
    name = next(d.name for d in definition.districts if d.district_id == NATION)
    postgres.ensure_schema()
    with postgres.connect() as conn:  # one transaction: the whole election, or nothing
        election = lifecycle.election_for_registration(conn, context.run.run_id, name)
        counts = write_import(conn, imported)
        detail = {"source": cvr_path, "rules": rules_path, **vars(counts)}
        lifecycle.audit(conn, election.election_id, context.run.run_id, "import_cvr", "ok", detail)
    contests = [
        {"contest": c.contest_id, "name": c.name, "kind": c.kind, "choices": len(c.choices)}
        for c in definition.contests
    ]
    # counts and the contests only: which record is whose stays out of Dagster's metadata
    return dg.MaterializeResult(
        metadata={
            "source": cvr_path,
            "rules": rules_path or "none",
            "election_id": election.election_id,
            **vars(counts),
            "contests_on_the_ballot": dg.MetadataValue.md(
                markdown_table(contests[:20], ["contest", "name", "kind", "choices"])
            ),
        }
    )


import_cvr_job = dg.define_asset_job(
    contract.IMPORT_CVR_JOB,
    selection=dg.AssetSelection.assets(imported_election, "votes_topic", "result_topics"),
    description="Import a real election from a NIST SP 1500-103 cast vote record report and its "
    "RCTab rules (cvr_path, rules_path as config; CVR_PATH, CVR_RULES_PATH by default): the "
    "definition, a voter per record and the ballots cast_votes_job replays; the topics, empty.",
)

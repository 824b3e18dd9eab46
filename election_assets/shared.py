"""What the election's stages share: the project's folder, the tally's checkpoints, run
lookups, the tally's progress against the ballot log, and check results addressed to checks."""

from collections.abc import Callable, Mapping
from pathlib import Path

import dagster as dg

from election import contract
from election.settings import setting
from election_assets.resources import KafkaResource, PostgresResource
from election_io.ballot_log import Backlog, backlog, tallied_messages

ROOT = Path(__file__).resolve().parent.parent
IN_PROGRESS = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]


def checkpoint_root() -> Path:
    """Where the Spark tally keeps its checkpoints: SPARK_CHECKPOINT_DIR, else .stack/."""
    return Path(setting("SPARK_CHECKPOINT_DIR") or ROOT / ".stack" / "checkpoints")


def tally_checkpoint(election_id: int, query_name: str) -> Path:
    """An election's tally checkpoint: each election's own, so a new one starts from nothing."""
    return checkpoint_root() / f"election-{election_id}" / query_name


def in_progress_runs(instance: dg.DagsterInstance, job_name: str) -> list:
    """The job's runs that are queued, starting or running."""
    return list(instance.get_runs(filters=dg.RunsFilter(job_name=job_name, statuses=IN_PROGRESS)))


def tally_backlog(postgres: PostgresResource, kafka: KafkaResource) -> Backlog:
    """How far the tally is behind the committed ballot log (tallied: nothing left to judge)."""
    with postgres.connect() as conn:
        return backlog(conn, kafka.bootstrap_servers, contract.VOTES_TOPIC)


def tallied_and_cast(postgres: PostgresResource, kafka: KafkaResource) -> tuple[int, int]:
    """Messages the tally has committed, and offsets on the ballot log (markers included)."""
    with postgres.connect() as conn:
        tallied = tallied_messages(conn, contract.VOTES_TOPIC)
    cast = sum(kafka.end_offsets(contract.VOTES_TOPIC).values())
    return tallied, cast


def named_results(asset_key: str, results: dict[str, dg.AssetCheckResult]):
    """The check functions' results, addressed to their checks on `asset_key`."""
    for name, result in results.items():
        yield dg.AssetCheckResult(
            asset_key=asset_key, check_name=name, passed=result.passed, metadata=result.metadata
        )


def database_checks(
    asset_key: str,
    checks: Mapping[str, Callable[..., dg.AssetCheckResult]],
    description: str,
) -> dg.AssetChecksDefinition:
    """Blocking checks of an asset, each a function of one database connection they share."""

    @dg.multi_asset_check(
        name=f"{asset_key}_checks",
        description=description,
        specs=[dg.AssetCheckSpec(name, asset=asset_key, blocking=True) for name in checks],
    )
    def _checks(postgres: PostgresResource):
        with postgres.connect() as conn:
            results = {name: check(conn) for name, check in checks.items()}
        yield from named_results(asset_key, results)

    return _checks


def differences(expected: dict, actual: dict) -> dict:
    """The keys whose values differ between a recount and the live books (missing is 0)."""
    keys = set(expected) | set(actual)
    return {
        str(k): {"recount": expected.get(k, 0), "live": actual.get(k, 0)}
        for k in sorted(keys, key=str)
        if expected.get(k, 0) != actual.get(k, 0)
    }

"""Topics on the real broker: created with the contract's settings, the ballot log verified."""

import pytest

from election import contract
from election_io import topics


@pytest.fixture
def cleanup(bootstrap_servers):
    doomed: list[str] = []
    yield doomed
    if doomed:
        admin = topics.admin_client(bootstrap_servers)
        for future in admin.delete_topics(doomed, operation_timeout=30).values():
            future.result()


def test_topics_get_the_contracts_settings(bootstrap_servers, unique_name, cleanup):
    prefix = f"{unique_name}."
    names = [contract.VOTES_TOPIC, contract.REJECTED_VOTES_TOPIC, contract.RACE_CALLS_TOPIC]
    cleanup.extend(prefix + n for n in names)
    created = topics.ensure_topics(bootstrap_servers, names, 3, prefix)
    assert sorted(created) == sorted(prefix + n for n in names)
    assert topics.ensure_topics(bootstrap_servers, names, 3, prefix) == []  # twice is harmless
    votes = topics.describe_topic(bootstrap_servers, prefix + contract.VOTES_TOPIC)
    assert votes["message.timestamp.type"] == "LogAppendTime"
    assert votes["max.message.bytes"] == str(contract.MAX_BALLOT_BYTES)
    calls = topics.describe_topic(bootstrap_servers, prefix + contract.RACE_CALLS_TOPIC)
    assert calls["cleanup.policy"] == "compact"
    assert topics.partition_count(bootstrap_servers, prefix + contract.VOTES_TOPIC) == 3


def test_one_broker_means_replication_one(bootstrap_servers):
    admin = topics.admin_client(bootstrap_servers)
    assert topics.cluster_replication(admin) == 1
    assert "min.insync.replicas" not in topics.replicated_config({}, 1)
    assert topics.replicated_config({}, 3)["min.insync.replicas"] == "2"
    assert topics.replicated_config({}, 2)["min.insync.replicas"] == "2"


def test_the_contracts_ballot_log_has_no_problems(bootstrap_servers, unique_name, cleanup):
    cleanup.append(unique_name)
    topics.ensure_topics(bootstrap_servers, [unique_name], 4)
    assert topics.verify_votes_topic(bootstrap_servers, unique_name) == []
    assert topics.verify_votes_topic(bootstrap_servers, unique_name, partitions=4) == []
    topics.require_votes_topic(bootstrap_servers, unique_name, partitions=4)


BROKEN = {
    "message.timestamp.type=CreateTime": (
        {"message.timestamp.type": "CreateTime"},
        "message.timestamp.type=CreateTime: senders would choose their ballots' receipt time",
    ),
    "a bigger door": (
        {"max.message.bytes": "1048588"},
        "max.message.bytes=1048588: it must refuse batches over 65536 bytes",
    ),
    "finite retention.ms": (
        {"retention.ms": "604800000"},
        "retention.ms=604800000: the broker would delete ballots before the recount",
    ),
    "finite retention.bytes": (
        {"retention.bytes": "1073741824"},
        "retention.bytes=1073741824: the broker would delete ballots",
    ),
    "compacted": (
        {"cleanup.policy": "compact"},
        "cleanup.policy=compact: compaction would drop a voter's earlier ballots",
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_each_broken_setting_is_its_own_line(bootstrap_servers, unique_name, cleanup, case):
    change, expected = BROKEN[case]
    cleanup.append(unique_name)
    config = {**contract.VOTES_TOPIC_CONFIG, **change}
    topics.ensure_topics(bootstrap_servers, [unique_name], 2, config=config)
    problems = topics.verify_votes_topic(bootstrap_servers, unique_name)
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"{unique_name} has ")
    assert expected in problems[0]
    assert "kafka-configs" in problems[0] and "\n" not in problems[0]
    with pytest.raises(topics.TopicMisconfigured, match="has "):
        topics.require_votes_topic(bootstrap_servers, unique_name)


def test_every_problem_is_listed_together(bootstrap_servers, unique_name, cleanup):
    cleanup.append(unique_name)
    # the broker's defaults, but for a finite retention.ms (retention.bytes is -1 by default)
    topics.ensure_topics(bootstrap_servers, [unique_name], 2, config={"retention.ms": "1000"})
    problems = topics.verify_votes_topic(bootstrap_servers, unique_name, partitions=4)
    assert [p.split(" has ")[1].split("=")[0].split(" ")[0] for p in problems] == [
        "message.timestamp.type",
        "max.message.bytes",
        "retention.ms",
        "2",
    ]
    assert "expected 4" in problems[-1]
    with pytest.raises(topics.TopicMisconfigured) as raised:
        topics.require_votes_topic(bootstrap_servers, unique_name, partitions=4)
    assert str(raised.value).splitlines() == problems


def test_a_missing_ballot_log_is_one_line(bootstrap_servers, unique_name):
    (problem,) = topics.verify_votes_topic(bootstrap_servers, unique_name)
    assert problem.startswith(f"{unique_name} does not exist")

"""Kafka's murmur2 partitioner: known hashes, and the bulk form equal to the one-key form."""

from __future__ import annotations

import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from election.partitioning import murmur2, murmur2_partition, murmur2_partitions

# Hashes and partitions (of 7) printed by Kafka's own org.apache.kafka.common.utils.Utils.murmur2
# and Utils.toPositive (kafka-clients 4.1.1, the jar `make services` resolves), run on the JVM.
KAFKA_MURMUR2 = [
    (b"", 275646681, 2),
    (b"a", 2731586172, 5),
    (b"ab", 316155434, 0),
    (b"abc", 479470107, 4),
    (b"abcd", 2971317748, 5),
    (b"21", 3321034988, 3),
    (b"foobar", 3504634814, 0),
    (b"a-little-bit-long-string", 3308985760, 1),
    (b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", 4236069325, 3),
    (b"0b9e6a1c-3f0e-4a8b-9c57-4f4b1f1a2d3e", 4125326379, 4),
    (bytes([0xFF, 0x80, 0x00, 0xFE, 0x7F]), 2932493179, 5),
]


# apache/kafka clients/src/test/java/org/apache/kafka/common/utils/UtilsTest.java, testMurmur2:
# Java's signed results, here as the unsigned 32 bits they are
KAFKA_UTILS_TEST = {
    b"21": -973932308,
    b"foobar": -790332482,
    b"a-little-bit-long-string": -985981536,
    b"a-little-bit-longer-string": -1486304829,
    b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
    b"abc": 479470107,
}


@pytest.mark.parametrize("key", sorted(KAFKA_UTILS_TEST))
def test_murmur2_matches_kafkas_own_test_vectors(key):
    assert murmur2(key) == KAFKA_UTILS_TEST[key] & 0xFFFFFFFF


@pytest.mark.parametrize(("key", "hashed", "partition"), KAFKA_MURMUR2)
def test_murmur2_is_kafkas(key, hashed, partition):
    assert murmur2(key) == hashed
    assert murmur2_partition(key, 7) == partition


def test_the_bulk_form_on_kafkas_keys_and_a_null_key():
    keys = [key for key, _, _ in KAFKA_MURMUR2]
    placed = murmur2_partitions(pa.array([*keys, None], pa.binary()), 7)
    assert placed.tolist() == [p for _, _, p in KAFKA_MURMUR2] + [-1]


@given(
    keys=st.lists(st.one_of(st.none(), st.binary(max_size=70)), max_size=40),
    partitions=st.integers(1, 300),
    skip=st.integers(0, 3),
)
def test_the_bulk_form_equals_the_one_key_form(keys, partitions, skip):
    array = pa.array([b"x"] * skip + keys, pa.binary()).slice(skip)  # an offset into buffers
    expected = [-1 if k is None else murmur2_partition(k, partitions) for k in keys]
    assert murmur2_partitions(array, partitions).tolist() == expected


def test_a_topic_has_at_least_one_partition():
    with pytest.raises(ValueError, match="at least one partition"):
        murmur2_partition(b"a", 0)

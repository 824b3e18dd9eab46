"""Kafka's murmur2 partitioner in pure Python, checked against Kafka's own test vectors."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from election.partitioning import murmur2, murmur2_partition

# apache/kafka clients/src/test/java/org/apache/kafka/common/utils/UtilsTest.java, testMurmur2
KAFKA_VECTORS = {
    b"21": -973932308,
    b"foobar": -790332482,
    b"a-little-bit-long-string": -985981536,
    b"a-little-bit-longer-string": -1486304829,
    b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
    b"abc": 479470107,
}


@pytest.mark.parametrize("key", sorted(KAFKA_VECTORS))
def test_murmur2_matches_kafkas_own_vectors(key):
    assert murmur2(key) == KAFKA_VECTORS[key]


def test_partition_is_the_positive_hash_modulo_the_partitions():
    assert murmur2_partition(b"foobar", 7) == (-790332482 & 0x7FFFFFFF) % 7
    assert murmur2_partition(b"anything", 1) == 0


def test_no_partitions_is_refused():
    with pytest.raises(ValueError, match="at least one partition"):
        murmur2_partition(b"x", 0)


@given(st.binary(max_size=64), st.integers(1, 64))
def test_a_partition_is_always_in_range(key, partitions):
    assert 0 <= murmur2_partition(key, partitions) < partitions
    assert -(2**31) <= murmur2(key) < 2**31

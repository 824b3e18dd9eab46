"""Where a ballot belongs on votes_topic: Kafka's murmur2 partitioner, for one key or many.

The Java client's default partitioner (and librdkafka's `murmur2_random`) puts a keyed
message on `toPositive(murmur2(key)) % partitions`. A ballot anywhere else is malformed, so
one voter's ballots always share a partition and every reader orders them alike.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

_SEED = 0x9747B28C
_M = 0x5BD1E995
_MASK = 0xFFFFFFFF


def murmur2(key: bytes) -> int:
    """Kafka's murmur2 hash of a key, as an unsigned 32-bit integer."""
    length = len(key)
    h = (_SEED ^ length) & _MASK
    whole = length & ~3
    for i in range(0, whole, 4):
        k = int.from_bytes(key[i : i + 4], "little")
        k = (k * _M) & _MASK
        k ^= k >> 24
        k = (k * _M) & _MASK
        h = ((h * _M) & _MASK) ^ k
    tail = length - whole
    if tail:
        for j in range(tail - 1, -1, -1):
            h ^= key[whole + j] << (8 * j)
        h = (h * _M) & _MASK
    h ^= h >> 13
    h = (h * _M) & _MASK
    return h ^ (h >> 15)


def murmur2_partition(key: bytes, partitions: int) -> int:
    """The partition Kafka's default partitioner gives a key on a topic of `partitions`."""
    if partitions < 1:
        raise ValueError(f"a topic has at least one partition, not {partitions}")
    return (murmur2(key) & 0x7FFFFFFF) % partitions


def murmur2_partitions(keys: pa.Array, partitions: int) -> np.ndarray:
    """murmur2_partition of every key of a binary Arrow array (-1 for a null key), in bulk."""
    if partitions < 1:
        raise ValueError(f"a topic has at least one partition, not {partitions}")
    keys = keys.cast(pa.large_binary())
    n = len(keys)
    if n == 0:
        return np.empty(0, dtype=np.int64)
    valid = ~np.asarray(keys.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    offsets = np.frombuffer(keys.buffers()[1], dtype=np.int64)[keys.offset : keys.offset + n + 1]
    data_buffer = keys.buffers()[2]
    data = np.frombuffer(data_buffer, dtype=np.uint8) if data_buffer is not None else []
    data = data if len(data) else np.zeros(1, dtype=np.uint8)  # every key null or empty
    lengths = np.where(valid, offsets[1:] - offsets[:-1], 0)
    width = max(4, int(-(-int(lengths.max()) // 4) * 4))
    columns = np.arange(width)
    at = offsets[:-1, None] + columns[None, :]
    inside = columns[None, :] < lengths[:, None]
    matrix = np.where(inside, data[np.minimum(at, len(data) - 1)], 0).astype(np.uint8)
    words = matrix.view("<u4")  # n x width/4 little-endian words
    m = np.uint32(_M)
    with np.errstate(over="ignore"):
        h = np.uint32(_SEED) ^ lengths.astype(np.uint32)
        whole_words = lengths // 4
        for i in range(words.shape[1]):
            k = words[:, i] * m
            k ^= k >> np.uint32(24)
            k *= m
            h = np.where(whole_words > i, (h * m) ^ k, h)
        tail = lengths % 4
        rows = np.arange(n)
        base = lengths - tail
        extra = np.zeros(n, dtype=np.uint32)
        for j in range(3):
            byte = matrix[rows, np.minimum(base + j, width - 1)].astype(np.uint32)
            extra ^= np.where(tail > j, byte << np.uint32(8 * j), np.uint32(0))
        h = np.where(tail > 0, (h ^ extra) * m, h)
        h ^= h >> np.uint32(13)
        h *= m
        h ^= h >> np.uint32(15)
    placed = (h & np.uint32(0x7FFFFFFF)).astype(np.int64) % partitions
    return np.where(valid, placed, -1)


MISPLACED_DETAIL = (
    "sits on partition {partition}, but murmur2 places its key on partition {expected} "
    "of {partitions}"
)


def misplaced_detail(partition: int, expected: int, partitions: int) -> str:
    """Why a ballot on the wrong partition is malformed, in the tally's and the oracle's words."""
    return MISPLACED_DETAIL.format(partition=partition, expected=expected, partitions=partitions)

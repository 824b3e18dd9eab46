"""SPARK_EXTRA_JARS: jar files or folders of jars, and one clear line when they are wrong."""

from __future__ import annotations

import contextlib
import os
import socket
from pathlib import Path

import pytest

from election_io.spark_setup import JARS_DIR, SetupError, extra_jars


@pytest.fixture
def jar_folder(tmp_path):
    folder = tmp_path / "jars"
    folder.mkdir()
    for jar in JARS_DIR.glob("*.jar"):
        (folder / jar.name).symlink_to(jar)
    return folder


def test_a_folder_of_jars_is_expanded_to_its_files(jar_folder):
    jars = extra_jars(str(jar_folder))
    assert sorted(jars) == sorted(str(p) for p in jar_folder.glob("*.jar"))
    assert any("spark-sql-kafka" in j for j in jars)


def test_files_and_folders_mix(jar_folder, tmp_path):
    extra = tmp_path / "extra.jar"
    extra.write_bytes(b"PK")
    jars = extra_jars(f"{jar_folder}, {extra}")
    assert str(extra) in jars and len(jars) == len(list(jar_folder.glob("*.jar"))) + 1


def test_a_missing_entry_is_named(jar_folder, tmp_path):
    with pytest.raises(SetupError, match="missing files or folders: .*nowhere"):
        extra_jars(f"{jar_folder},{tmp_path / 'nowhere'}")


def test_a_folder_without_the_connector_says_so(tmp_path):
    (tmp_path / "other.jar").write_bytes(b"PK")
    with pytest.raises(SetupError, match="Kafka connector is not in SPARK_EXTRA_JARS") as error:
        extra_jars(str(tmp_path))
    assert "\n" not in str(error.value)


def listening_addresses(pid: int) -> set[str]:
    """The local addresses a process listens on for TCP, from /proc (IPv4 and IPv6)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    found = set()
    for table, width in (("tcp", 8), ("tcp6", 32)):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                address = fields[1].split(":")[0]
                found.add(
                    address if width == 32 else socket.inet_ntoa(bytes.fromhex(address)[::-1])
                )
    return found


def test_a_local_driver_listens_on_loopback_only(spark):
    conf = spark.sparkContext.getConf()
    assert conf.get("spark.driver.bindAddress") == "127.0.0.1"
    assert conf.get("spark.driver.host") == "127.0.0.1"
    jvm = spark.sparkContext._gateway.proc.pid  # the driver's JVM, started by this process
    addresses = listening_addresses(jvm)
    assert addresses, "the driver's JVM listens on nothing"
    v6_loopback = "00000000000000000000000001000000"  # ::1, as /proc writes it
    v4_mapped_loopback = "0000000000000000FFFF00000100007F"  # ::ffff:127.0.0.1
    assert addresses <= {"127.0.0.1", v6_loopback, v4_mapped_loopback}, addresses

"""SPARK_EXTRA_JARS: jar files or folders of jars, and one clear line when they are wrong."""

from __future__ import annotations

import pytest

from spark_jobs.session import JARS_DIR, SetupError, extra_jars


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

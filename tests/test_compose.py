"""The container stack, checked without a Docker engine.

docker-compose.yml is parsed and interpolated the way `docker compose` does it, validated
against the Compose specification's JSON schema (vendored by check-jsonschema), and held to
what the election needs: the official images at the project's versions, loopback-only
ports, health-gated start order, declared volumes, the configuration variables of the local
default, and a Dagster instance on dagster-postgres whose settings the containers supply.
"""

from __future__ import annotations

import copy
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import pyspark
import pytest
import yaml

from election.settings import DEFAULTS, setting

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKER_DIR = ROOT / "docker"
DOCKERFILE = DOCKER_DIR / "Dockerfile"
DAGSTER_YAML = DOCKER_DIR / "dagster.yaml"
WORKSPACE_YAML = DOCKER_DIR / "workspace.yaml"
DOCKERIGNORE = ROOT / ".dockerignore"

INFRASTRUCTURE_IMAGES = {
    "postgres": "postgres:16",
    "kafka": "apache/kafka:4.1.1",
    "kafka-2": "apache/kafka:4.1.1",
    "kafka-3": "apache/kafka:4.1.1",
}
DAGSTER_SERVICES = ("dagster-webserver", "dagster-daemon")
APP_SERVICES = (*DAGSTER_SERVICES, "streamlit")
# the Spark cluster runs the app image (tests/test_compose_spark.py)
SPARK_SERVICES = ("spark-master", "spark-worker")
EXPECTED_SERVICES = {*INFRASTRUCTURE_IMAGES, *APP_SERVICES, *SPARK_SERVICES}

# service -> the container port it publishes on the host
PUBLISHED_PORTS = {
    "postgres": 5432,
    "kafka": 9094,
    "kafka-2": 9094,
    "kafka-3": 9094,
    "spark-master": 8080,
    "dagster-webserver": 3000,
    "streamlit": 8501,
}

# The local default's variables (election.settings), pointed at the containers.
APP_ENVIRONMENT = {
    "DATABASE_URL": "postgresql://postgres:postgres@postgres:5432/voting",
    "KAFKA_BOOTSTRAP_SERVERS": "kafka:9092",
    "SPARK_MASTER": "spark://spark-master:7077",
    "RANDOMUSER_URL": "https://randomuser.me/api/",
}

DAGSTER_POSTGRES_STORAGE = {
    "run_storage": ("dagster_postgres.run_storage", "PostgresRunStorage"),
    "event_log_storage": ("dagster_postgres.event_log", "PostgresEventLogStorage"),
    "schedule_storage": ("dagster_postgres.schedule_storage", "PostgresScheduleStorage"),
}

CHECKPOINT_VOLUME = "spark-checkpoints"


# --- reading the files the way docker compose does -------------------------------------

_VARIABLE = re.compile(
    r"\$(?:(?P<escaped>\$)"
    r"|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}"
    r"|(?P<named>[A-Za-z_][A-Za-z0-9_]*))"
)


class UnsetVariable(KeyError):
    pass


def interpolate(value: Any, env: Mapping[str, str], strict: bool = False) -> Any:
    """Compose's variable substitution: $$, $VAR, ${VAR}, ${VAR:-default}, ${VAR-default}."""
    if isinstance(value, dict):
        return {key: interpolate(item, env, strict) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, env, strict) for item in value]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match[str]) -> str:
        if match["escaped"]:
            return "$"
        name = match["braced"] or match["named"]
        op, arg = match["op"], match["arg"] or ""
        current = env.get(name)
        if op == ":-":
            return current or arg
        if op == "-":
            return arg if current is None else current
        if op in (":+", "+"):
            present = bool(current) if op == ":+" else current is not None
            return arg if present else ""
        if op in (":?", "?") and not current:
            raise UnsetVariable(f"{name}: {arg}")
        if current is None and strict:
            raise UnsetVariable(name)
        return current or ""

    return _VARIABLE.sub(substitute, value)


def load_compose(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    raw = yaml.safe_load(COMPOSE_FILE.read_text())
    return interpolate(raw, env or {})


def environment_of(service: Mapping[str, Any]) -> dict[str, str]:
    """A service's environment, from either the mapping or the KEY=VALUE list form."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {key: "" if value is None else str(value) for key, value in env.items()}


def published_ports(service: Mapping[str, Any]) -> Iterator[tuple[str | None, str | None, int]]:
    """(host_ip, published, target) for each entry of `ports`, short or long syntax."""
    for port in service.get("ports") or []:
        if isinstance(port, dict):
            yield port.get("host_ip"), port.get("published"), int(port["target"])
            continue
        spec = str(port).split("/", 1)[0]
        parts = spec.rsplit(":", 2)
        if len(parts) == 3:
            host_ip, published, target = parts
        elif len(parts) == 2:
            host_ip, (published, target) = None, parts
        else:
            host_ip, published, target = None, None, parts[0]
        yield host_ip, published, int(target)


def volume_mounts(service: Mapping[str, Any]) -> Iterator[tuple[str, str, str]]:
    """(type, source, target) for each entry of `volumes`, short or long syntax."""
    for mount in service.get("volumes") or []:
        if isinstance(mount, dict):
            yield mount.get("type", "volume"), mount.get("source", ""), mount["target"]
            continue
        source, _, rest = mount.partition(":")
        target = rest.split(":", 1)[0]
        kind = "bind" if source.startswith((".", "/", "~")) else "volume"
        yield kind, source, target


def command_words(service: Mapping[str, Any]) -> list[str]:
    command = service.get("command") or []
    return command.split() if isinstance(command, str) else [str(word) for word in command]


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    instructions = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, arguments = line.partition(" ")
            instructions.append((keyword.upper(), " ".join(arguments.split())))
    return instructions


def env_references(node: Any) -> set[str]:
    """Every variable a Dagster config reads through an `env:` entry."""
    if isinstance(node, dict):
        if set(node) == {"env"}:
            return {node["env"]}
        return set().union(*(env_references(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(env_references(value) for value in node))
    return set()


def pom_property(pom: Path, name: str) -> str:
    namespace = {"m": "http://maven.apache.org/POM/4.0.0"}
    value = ET.parse(pom).getroot().findtext(f"m:properties/m:{name}", namespaces=namespace)
    assert value, f"{pom} has no <{name}> property"
    return value.strip()


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    """docker-compose.yml as `docker compose up` sees it with no variable set."""
    return load_compose()


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, Any]:
    return compose["services"]


@pytest.fixture(scope="module")
def dagster_yaml() -> dict[str, Any]:
    return yaml.safe_load(DAGSTER_YAML.read_text())


# --- the Compose specification ----------------------------------------------------------


def compose_spec_validator():
    pytest.importorskip(
        "check_jsonschema",
        reason="check-jsonschema (dev extra) vendors the Compose specification's schema",
    )
    import jsonschema

    vendor = resources.files("check_jsonschema.builtin_schemas.vendor")
    schema = json.loads((vendor / "compose-spec.json").read_text())
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema)


def test_compose_file_follows_the_compose_specification(compose):
    validator = compose_spec_validator()
    errors = sorted(validator.iter_errors(compose), key=lambda error: list(error.path))
    assert not errors, "\n".join(
        f"{'/'.join(map(str, error.path)) or '<root>'}: {error.message}" for error in errors
    )


def test_compose_specification_check_is_live(compose):
    """A misspelt key fails, so the check above cannot pass by validating nothing."""
    validator = compose_spec_validator()
    broken = copy.deepcopy(compose)
    broken["services"]["postgres"]["healthchek"] = broken["services"]["postgres"].pop("healthcheck")
    assert not validator.is_valid(broken)


def test_every_variable_has_a_local_default():
    raw = yaml.safe_load(COMPOSE_FILE.read_text())
    try:
        interpolate(raw, {}, strict=True)
    except UnsetVariable as unset:
        pytest.fail(f"docker compose up needs ${unset} set: give it a local default")


# --- services and images ----------------------------------------------------------------


def test_every_expected_service_is_defined(services):
    missing = EXPECTED_SERVICES - set(services)
    assert not missing, f"docker-compose.yml lacks {sorted(missing)}"


@pytest.mark.parametrize("name", sorted(INFRASTRUCTURE_IMAGES))
def test_infrastructure_runs_the_official_image(services, name):
    assert services[name]["image"] == INFRASTRUCTURE_IMAGES[name]
    assert "build" not in services[name], f"{name} must run the official image unchanged"


def test_images_match_the_versions_the_project_pins(services):
    kafka_tag = services["kafka"]["image"].rpartition(":")[2]
    pyspark_pin = re.search(r'"pyspark==([^"]+)"', (ROOT / "pyproject.toml").read_text())
    assert pyspark_pin, "pyproject.toml pins pyspark exactly"
    # the Spark of the image (pyspark's) is the one the jars in /opt/jars were built for
    assert pyspark_pin[1] == pom_property(ROOT / "stack/spark/pom.xml", "spark.version")
    # the broker in the container is the one the local stack runs
    assert kafka_tag == pom_property(ROOT / "stack/kafka/pom.xml", "kafka.version")
    # the tally's own jar is compiled against the Spark and Scala pyspark runs it on
    assert pyspark_pin[1] == pom_property(ROOT / "jvm/pom.xml", "spark.version")
    shipped = {jar.name for jar in (Path(pyspark.__file__).parent / "jars").glob("scala-*.jar")}
    scala = pom_property(ROOT / "jvm/pom.xml", "scala.version")
    assert {f"scala-library-{scala}.jar", f"scala-reflect-{scala}.jar"} <= shipped


def test_app_services_share_one_image_built_from_the_repository(services):
    builds = {name: services[name].get("build") for name in APP_SERVICES}
    images = {name: services[name].get("image") for name in APP_SERVICES}
    for name, build in builds.items():
        assert build, f"{name} is built from the repository"
        context = build if isinstance(build, str) else build.get("context", ".")
        dockerfile = "Dockerfile" if isinstance(build, str) else build.get("dockerfile")
        assert (ROOT / context / dockerfile).resolve() == DOCKERFILE
    assert len(set(images.values())) == 1, f"one image for all app services: {images}"


def test_spark_workers_join_the_master_and_can_be_scaled(services):
    worker, master = services["spark-worker"], services["spark-master"]
    assert "org.apache.spark.deploy.master.Master" in command_words(master)
    words = command_words(worker)
    assert "org.apache.spark.deploy.worker.Worker" in words
    assert APP_ENVIRONMENT["SPARK_MASTER"] in words
    # a fixed name or host port would make --scale spark-worker=N fail
    assert "container_name" not in worker
    assert not list(published_ports(worker))
    assert int(worker.get("deploy", {}).get("replicas", 1)) >= 1


def test_dagster_sends_the_tally_and_the_recount_to_the_cluster_with_spark_submit(services):
    for name in DAGSTER_SERVICES:
        env = environment_of(services[name])
        assert setting("SPARK_SUBMIT", env) is True, (
            f"{name}: SPARK_SUBMIT={env.get('SPARK_SUBMIT')}"
        )
        assert env["SPARK_MASTER"].startswith("spark://")


def test_streamlit_serves_the_dashboard_on_all_interfaces_of_its_container(services):
    command = " ".join(command_words(services["streamlit"]))
    assert command.startswith("streamlit run streamlit_app/app.py")
    assert "--server.address 0.0.0.0" in command
    assert "--server.port 8501" in command


def test_dagster_services_load_the_container_workspace(services):
    webserver = command_words(services["dagster-webserver"])
    daemon = command_words(services["dagster-daemon"])
    assert webserver[0] == "dagster-webserver"
    assert daemon[:2] == ["dagster-daemon", "run"]
    copied = {
        arguments.split()[-1]
        for keyword, arguments in dockerfile_instructions()
        if keyword == "COPY" and "docker/workspace.yaml" in arguments.split()
    }
    assert len(copied) == 1, "the Dockerfile copies docker/workspace.yaml into the image"
    for words in (webserver, daemon):
        assert copied <= set(words), f"{words} loads {copied}"
    workspace = yaml.safe_load(WORKSPACE_YAML.read_text())
    modules = [entry["python_module"]["module_name"] for entry in workspace["load_from"]]
    assert modules == ["election_assets.definitions"]


# --- ports ------------------------------------------------------------------------------


def test_every_published_port_binds_to_loopback(services):
    for name, service in services.items():
        assert service.get("network_mode") != "host", f"{name} would bypass port bindings"
        for host_ip, published, target in published_ports(service):
            assert host_ip == "127.0.0.1", (
                f"{name} publishes {target} on {host_ip or 'every interface'}; bind it to 127.0.0.1"
            )
            assert published, f"{name} publishes {target} on a random host port"


def test_the_expected_ports_are_published(services):
    for name, target in PUBLISHED_PORTS.items():
        targets = {port for _, _, port in published_ports(services[name])}
        assert target in targets, f"{name} does not publish {target}"


def test_host_ports_move_with_their_variables():
    moved = load_compose({"DAGSTER_PORT": "13000", "KAFKA_HOST_PORT": "19094"})["services"]
    assert ("127.0.0.1", "13000", 3000) in published_ports(moved["dagster-webserver"])
    assert ("127.0.0.1", "19094", 9094) in published_ports(moved["kafka"])
    # Kafka tells host clients to come back on the port the host actually sees
    advertised = environment_of(moved["kafka"])["KAFKA_ADVERTISED_LISTENERS"]
    assert "localhost:19094" in advertised


# --- start order and health -------------------------------------------------------------


def is_one_shot(service: Mapping[str, Any]) -> bool:
    return str(service.get("restart", "no")) == "no" and "healthcheck" not in service


def test_long_running_services_have_health_checks(services):
    for name, service in services.items():
        if is_one_shot(service):
            continue
        check = service.get("healthcheck")
        assert check, f"{name} has no health check"
        assert not check.get("disable"), f"{name} disables its health check"
        test = check["test"]
        assert isinstance(test, str) or test[0] in ("CMD", "CMD-SHELL"), f"{name}: {test}"


def test_dependents_wait_for_health_or_completion(services):
    for name, service in services.items():
        depends_on = service.get("depends_on") or {}
        assert isinstance(depends_on, dict), f"{name}: a depends_on list waits only for start"
        for dependency, condition in depends_on.items():
            assert dependency in services, f"{name} depends on unknown {dependency}"
            expected = (
                "service_completed_successfully"
                if is_one_shot(services[dependency])
                else "service_healthy"
            )
            assert condition.get("condition") == expected, f"{name} -> {dependency}"
            if expected == "service_healthy":
                assert "healthcheck" in services[dependency]


def test_services_wait_for_what_they_use(services):
    for name in DAGSTER_SERVICES:
        assert {"postgres", "kafka", "spark-master"} <= set(services[name]["depends_on"])
    assert {"postgres", "kafka"} <= set(services["streamlit"]["depends_on"])
    assert "spark-master" in services["spark-worker"]["depends_on"]


def test_health_checks_ask_the_services_themselves(services):
    postgres = json.dumps(services["postgres"]["healthcheck"]["test"])
    kafka = json.dumps(services["kafka"]["healthcheck"]["test"])
    assert "pg_isready" in postgres and "voting" in postgres
    assert re.search(r"/opt/kafka/bin/kafka-(broker-api-versions|topics)\.sh", kafka)
    assert "kafka:9092" in kafka or "localhost:9092" in kafka


# --- configuration ----------------------------------------------------------------------


def test_app_services_get_the_local_default_variables(services):
    assert set(DEFAULTS) <= set(APP_ENVIRONMENT), "a new setting needs a container value"
    for name in APP_SERVICES:
        env = environment_of(services[name])
        for key, value in APP_ENVIRONMENT.items():
            assert env.get(key) == value, f"{name}: {key}={env.get(key)!r}"
        # a secured cluster's login reaches every application container, plaintext by default
        assert env.get("KAFKA_SECURITY_PROTOCOL") == "PLAINTEXT"
        assert {"KAFKA_SASL_USERNAME", "KAFKA_SASL_PASSWORD", "KAFKA_SSL_CA_LOCATION"} <= set(env)


def test_app_service_addresses_name_compose_services(services):
    env = environment_of(services["dagster-daemon"])
    hosts = [
        re.search(r"@([^:/]+)", env["DATABASE_URL"])[1],
        env["KAFKA_BOOTSTRAP_SERVERS"].split(":")[0],
        env["SPARK_MASTER"].removeprefix("spark://").split(":")[0],
        env["DAGSTER_PG_HOST"],
    ]
    assert set(hosts) <= set(services), hosts


def test_the_postgres_password_comes_from_the_environment():
    raw = yaml.safe_load(COMPOSE_FILE.read_text())
    for name, service in raw["services"].items():
        for key, value in environment_of(service).items():
            if re.search(r"PASSWORD|SECRET|TOKEN", key):
                assert "${" in value, f"{name}: {key} is a literal, not from the environment"
    moved = load_compose({"POSTGRES_PASSWORD": "s3cret"})["services"]
    assert environment_of(moved["postgres"])["POSTGRES_PASSWORD"] == "s3cret"
    for name in APP_SERVICES:
        env = environment_of(moved[name])
        assert ":s3cret@postgres:" in env["DATABASE_URL"]
        assert env["DAGSTER_PG_PASSWORD"] == "s3cret"


# --- volumes ----------------------------------------------------------------------------


def test_named_volumes_are_declared_and_used(compose, services):
    declared = set(compose.get("volumes") or {})
    used = set()
    for name, service in services.items():
        for kind, source, target in volume_mounts(service):
            if kind == "volume":
                assert source in declared, f"{name} mounts undeclared volume {source}"
                used.add(source)
            elif kind == "bind":
                assert (ROOT / source).exists(), f"{name} binds missing {source} at {target}"
    assert declared == used, f"declared but unused: {sorted(declared - used)}"


def mount_target(service: Mapping[str, Any], volume: str) -> str | None:
    return next((t for _, s, t in volume_mounts(service) if s == volume), None)


def test_data_lives_on_volumes(services):
    assert mount_target(services["postgres"], "postgres-data") == "/var/lib/postgresql/data"
    kafka_logs = environment_of(services["kafka"])["KAFKA_LOG_DIRS"]
    assert mount_target(services["kafka"], "kafka-data") == kafka_logs
    for name in DAGSTER_SERVICES:
        home = environment_of(services[name])["DAGSTER_HOME"]
        assert mount_target(services[name], "dagster-storage") == f"{home}/storage"


def test_spark_checkpoints_share_one_path_on_driver_and_workers(services):
    paths = {
        name: mount_target(services[name], CHECKPOINT_VOLUME)
        for name in (*DAGSTER_SERVICES, "spark-worker")
    }
    assert None not in paths.values(), paths
    assert len(set(paths.values())) == 1, paths
    for name in DAGSTER_SERVICES:
        assert environment_of(services[name])["SPARK_CHECKPOINT_DIR"] == paths[name]


# --- the application image --------------------------------------------------------------


def test_dockerfile_builds_from_official_images():
    instructions = dockerfile_instructions()
    arguments = dict(
        argument.split("=", 1)
        for keyword, argument in instructions
        if keyword == "ARG" and "=" in argument
    )
    bases = [args.split()[0] for keyword, args in instructions if keyword == "FROM"]
    assert bases, "docker/Dockerfile has no FROM"
    for base in bases:
        resolved = re.sub(r"\$\{(\w+)\}", lambda m: arguments[m[1]], base)
        repository = resolved.partition(":")[0]
        assert "/" not in repository, f"{resolved} is not a Docker official image"
    assert re.sub(r"\$\{(\w+)\}", lambda m: arguments[m[1]], bases[-1]).startswith(
        "python:3.11-slim"
    )


def test_dockerfile_installs_the_project_java_and_spark_jars():
    instructions = dockerfile_instructions()
    runs = " ".join(args for keyword, args in instructions if keyword == "RUN")
    copies = [args.split() for keyword, args in instructions if keyword == "COPY"]
    env = " ".join(args for keyword, args in instructions if keyword == "ENV")
    assert "openjdk-17-jre-headless" in runs
    assert any("pyproject.toml" in words for words in copies)
    assert re.search(r"pip install (--\S+ )*\.(\s|$)", runs), "installs from pyproject.toml"
    # the Spark jars come from the same pom.xml as the local stack, into SPARK_EXTRA_JARS
    assert "stack/spark/pom.xml" in runs and "dependency:copy-dependencies" in runs
    assert "-DoutputDirectory=/opt/jars" in runs
    assert "SPARK_EXTRA_JARS=/opt/jars" in env
    assert any(words[0].startswith("--from=") and words[-1] == "/opt/jars" for words in copies)


def test_the_tally_accepts_the_containers_jars_setting(services, tmp_path):
    """What compose sets as SPARK_EXTRA_JARS (the folder the image fills) is what the tally's
    session accepts: the folder is laid out here as the Dockerfile lays it out, from the same pom."""
    from election_io.spark_setup import JARS_DIR, extra_jars

    folders = {
        environment_of(service).get("SPARK_EXTRA_JARS")
        for service in services.values()
        if "SPARK_EXTRA_JARS" in environment_of(service)
    }
    assert folders == {"/opt/jars"}
    image_jars = tmp_path / "opt" / "jars"
    image_jars.mkdir(parents=True)
    for jar in JARS_DIR.glob("*.jar"):
        (image_jars / jar.name).symlink_to(jar)
    value = folders.pop().replace("/opt/jars", str(image_jars))
    jars = extra_jars(value)
    assert any("spark-sql-kafka" in Path(j).name for j in jars)
    assert any(Path(j).name.startswith("postgresql-") for j in jars)
    assert all(Path(j).is_file() and j.endswith(".jar") for j in jars)


def test_dockerfile_sources_exist_and_are_not_ignored():
    ignored = {line.strip() for line in DOCKERIGNORE.read_text().splitlines()}
    assert {".venv", ".stack", ".git", ".env"} <= ignored
    for keyword, arguments in dockerfile_instructions():
        words = arguments.split()
        if keyword != "COPY" or words[0].startswith("--from="):
            continue
        for source in words[:-1]:
            assert (ROOT / source).exists(), f"COPY {source}: no such file"
            assert source not in ignored, f"COPY {source}: excluded by .dockerignore"


def test_the_image_user_owns_the_shared_checkpoints_like_spark_does():
    runs = " ".join(args for keyword, args in dockerfile_instructions() if keyword == "RUN")
    # uid 185 is the apache/spark image's user
    assert "--uid 185" in runs
    users = [args for keyword, args in dockerfile_instructions() if keyword == "USER"]
    assert users and users[-1] not in ("root", "0")


def test_dagster_home_holds_the_instance_config(services):
    env_lines = [args for keyword, args in dockerfile_instructions() if keyword == "ENV"]
    home = re.search(r"DAGSTER_HOME=(\S+)", " ".join(env_lines))[1]
    copies = [args.split() for keyword, args in dockerfile_instructions() if keyword == "COPY"]
    assert ["docker/dagster.yaml", f"{home}/dagster.yaml"] in copies
    for name in APP_SERVICES:
        assert environment_of(services[name])["DAGSTER_HOME"] == home


# --- the Dagster instance ---------------------------------------------------------------


@pytest.mark.parametrize("key", sorted(DAGSTER_POSTGRES_STORAGE))
def test_dagster_storage_is_dagster_postgres(dagster_yaml, key):
    module, cls = DAGSTER_POSTGRES_STORAGE[key]
    assert dagster_yaml[key]["module"] == module
    assert dagster_yaml[key]["class"] == cls
    assert "storage" not in dagster_yaml, "`storage` and the three storages exclude each other"


def test_dagster_storage_settings_reach_both_dagster_services(services, dagster_yaml):
    needed = env_references(dagster_yaml)
    assert {"DAGSTER_PG_HOST", "DAGSTER_PG_PASSWORD"} <= needed
    for name in DAGSTER_SERVICES:
        missing = needed - set(environment_of(services[name]))
        assert not missing, f"{name} lacks {sorted(missing)}"


def test_dagster_instance_config_is_valid_and_resolves_in_the_containers(
    services, dagster_yaml, tmp_path, monkeypatch
):
    from dagster._config import process_config
    from dagster._core.instance.config import dagster_instance_config
    from dagster._serdes.config_class import ConfigurableClass, class_from_code_pointer

    # only what the container gets: nothing leaks in from the shell running the tests
    for key in env_references(dagster_yaml):
        monkeypatch.delenv(key, raising=False)
    for key, value in environment_of(services["dagster-daemon"]).items():
        monkeypatch.setenv(key, value)
    (tmp_path / "dagster.yaml").write_text(DAGSTER_YAML.read_text())
    config, _ = dagster_instance_config(str(tmp_path))

    for key, (module, cls) in DAGSTER_POSTGRES_STORAGE.items():
        storage_class = class_from_code_pointer(module, cls)
        assert issubclass(storage_class, ConfigurableClass)
        result = process_config(storage_class.config_type(), config[key]["config"])
        assert result.success, f"{key}: {[error.message for error in result.errors]}"
        db = result.value["postgres_db"]
        assert db["hostname"] == "postgres"
        assert str(db["port"]) == "5432"
        # the database must exist: the postgres service's init script creates it
        init_sql = " ".join(
            path.read_text() for path in (DOCKER_DIR / "postgres" / "initdb").glob("*.sql")
        )
        assert re.search(rf"CREATE DATABASE {re.escape(db['db_name'])}\b", init_sql)

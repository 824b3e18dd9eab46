"""What the local stack's services share: its folders, one-line errors, ports, Java and Maven."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the settings catalogue, also before the venv exists (make stop)

from election.settings import SettingError, setting, setting_text  # noqa: E402

STACK = Path(setting_text("STACK_DIR") or ROOT / ".stack")
# the jars are the same for every stack (make run's, the tests'), so they are resolved once
JARS = Path(setting_text("STACK_JARS_DIR") or ROOT / ".stack" / "jars")


class StackError(Exception):
    """A problem a person can fix; printed as one line."""


def checked_setting(name: str):
    """A setting's value, or a StackError with the catalogue's one line."""
    try:
        return setting(name)
    except SettingError as exc:
        raise StackError(str(exc)) from None


def rel(path: Path) -> str:
    """A path as a person at the project root would type it."""
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


def say(message: str) -> None:
    print(f"[stack] {message}", flush=True)


def port_open(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def is_loopback(host: str) -> bool:
    """Whether a service's host is this machine's loopback: the local stack's to start."""
    return host == "localhost" or host == "::1" or host.startswith("127.")


def require_free_port(host: str, port: int, variable: str) -> None:
    if port_open(host, port):
        raise StackError(
            f"port {port} on {host} is taken by another program; stop it, or set {variable} "
            f"to use another port"
        )


def java_binary() -> str:
    java = shutil.which("java")
    if not java:
        raise StackError(
            "Java is missing: install a JDK 17+ (Debian: apt-get install default-jdk-headless)"
        )
    out = subprocess.run([java, "-version"], capture_output=True, text=True).stderr
    version = out.split('"')[1] if '"' in out else "0"
    major = int(version.split(".")[0]) if version.split(".")[0].isdigit() else 0
    if major < 17:
        raise StackError(f"Java {version} is too old: Kafka 4 and Spark 4 need JDK 17+")
    return java


def maven_binary() -> str:
    mvn = shutil.which("mvn")
    if not mvn:
        raise StackError("Maven is missing: install it (Debian: apt-get install maven)")
    return mvn


def _maven(pom: str, *goal: str, failed: str) -> subprocess.CompletedProcess:
    """Run Maven quietly on one of our poms; failed says what could not be done, in one line."""
    result = subprocess.run(
        [maven_binary(), "-q", "-B", "-f", str(ROOT / pom), *goal],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        lines = (result.stdout + result.stderr).splitlines()
        tail = " ".join(line for line in lines if "ERROR" in line)[:400]
        raise StackError(f"Maven {failed} {pom}: {tail or f'see mvn -f {pom} {goal[0]}'}")
    return result


def build_jar(pom: str, jar: Path) -> None:
    """Build a Maven project of ours (jvm/) into the jar named, when its sources are newer."""
    project = (ROOT / pom).parent
    newest = max(p.stat().st_mtime for p in [project / "pom.xml", *project.glob("src/**/*")])
    if jar.exists() and jar.stat().st_mtime >= newest:
        return
    say(f"building {pom} into {rel(jar)} ...")
    jar.parent.mkdir(parents=True, exist_ok=True)
    goal = ("package", f"-DjarDirectory={jar.parent}", f"-DjarName={jar.stem}")
    _maven(pom, *goal, failed="could not build")
    if not jar.exists():
        raise StackError(f"Maven built {pom} but left no {rel(jar)}: see mvn -f {pom} package")


def resolve_jars(pom: str, target: Path) -> None:
    """Fetch jars from Maven Central once; a marker says the folder is complete."""
    marker = target / ".complete"
    if marker.exists() and marker.stat().st_mtime >= (ROOT / pom).stat().st_mtime:
        return
    say(f"resolving {pom} from Maven Central into {rel(target)} ...")
    target.mkdir(parents=True, exist_ok=True)
    goal = ("dependency:copy-dependencies", f"-DoutputDirectory={target}")
    _maven(pom, *goal, failed="could not resolve")
    marker.touch()

"""`make run`: Dagster (dagster dev) and the dashboard against the local services.

Prints their URLs and stops both cleanly on Ctrl-C.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from localstack import load_dotenv  # stack/ is this script's own folder
from stack_common import STACK

from election.settings import SettingError, setting

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def port_taken(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def wait_for(port: int, process: subprocess.Popen, seconds: float) -> bool:
    deadline = time.time() + seconds
    while time.time() < deadline:
        if process.poll() is not None:
            return False
        if port_taken(port):
            return True
        time.sleep(0.5)
    return False


def start_apps(dagster_port: int, streamlit_port: int) -> tuple[dict[str, subprocess.Popen], Path]:
    """Start `dagster dev` and the dashboard, logging to STACK_DIR/logs; (processes, log folder)."""
    dagster_home = Path(setting("DAGSTER_HOME") or STACK / "dagster")
    dagster_home.mkdir(parents=True, exist_ok=True)
    if not (dagster_home / "dagster.yaml").exists():
        shutil.copy(ROOT / "stack" / "dagster.yaml", dagster_home / "dagster.yaml")
    env = {**os.environ, "DAGSTER_HOME": str(dagster_home)}
    logs = STACK / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    dagster = [str(BIN / "dagster"), "dev", "-w", "workspace.yaml"]
    dagster += ["-h", "127.0.0.1", "-p", str(dagster_port)]
    dashboard = [str(BIN / "streamlit"), "run", "streamlit_app/app.py"]
    dashboard += ["--server.headless", "true", "--server.address", "127.0.0.1"]
    dashboard += ["--server.port", str(streamlit_port), "--browser.gatherUsageStats", "false"]
    processes = {
        name: subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            start_new_session=True,
            stdout=open(logs / log, "ab"),  # noqa: SIM115 -- lives as long as the child
            stderr=subprocess.STDOUT,
        )
        for name, command, log in (
            ("Dagster", dagster, "dagster.log"),
            ("Dashboard", dashboard, "streamlit.log"),
        )
    }
    return processes, logs


def stop_apps(processes: dict[str, subprocess.Popen]) -> None:
    for process in processes.values():
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    for process in processes.values():
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
    print("[run] stopped Dagster and the dashboard (make stop stops PostgreSQL and Kafka)")


def apps_up(processes: dict[str, subprocess.Popen], dagster_port: int, streamlit_port: int) -> bool:
    return wait_for(dagster_port, processes["Dagster"], 120) and wait_for(
        streamlit_port, processes["Dashboard"], 60
    )


def app_ports() -> tuple[int, int]:
    """DAGSTER_PORT and STREAMLIT_PORT, both free; SettingError or RuntimeError in one line."""
    dagster_port, streamlit_port = setting("DAGSTER_PORT"), setting("STREAMLIT_PORT")
    for port, variable in ((dagster_port, "DAGSTER_PORT"), (streamlit_port, "STREAMLIT_PORT")):
        if port_taken(port):
            raise RuntimeError(f"port {port} is taken; stop that program or set {variable}")
    return dagster_port, streamlit_port


def serve_until_interrupted(processes: dict[str, subprocess.Popen]) -> None:
    """Keep Dagster and the dashboard running until Ctrl-C or one of them exits; then stop both."""
    try:
        while all(p.poll() is None for p in processes.values()):
            time.sleep(1)
        print("[run] a process exited; see the logs")
    except KeyboardInterrupt:
        pass
    stop_apps(processes)


def main() -> int:
    load_dotenv()  # the dashboard does not read .env itself; Dagster and Spark inherit it too
    try:
        dagster_port, streamlit_port = app_ports()
    except (SettingError, RuntimeError) as exc:
        print(f"[run] error: {exc}")
        return 1
    processes, logs = start_apps(dagster_port, streamlit_port)
    signal.signal(signal.SIGTERM, lambda *a: (stop_apps(processes), sys.exit(0)))
    if not apps_up(processes, dagster_port, streamlit_port):
        stop_apps(processes)
        print(f"[run] error: Dagster or the dashboard did not start; see {logs}")
        return 1
    print(f"[run] Dagster UI:  http://127.0.0.1:{dagster_port}")
    print(f"[run] Dashboard:   http://127.0.0.1:{streamlit_port}")
    print(f"[run] logs in {logs.relative_to(ROOT)}; Ctrl-C stops both")
    serve_until_interrupted(processes)
    return 0


if __name__ == "__main__":
    sys.exit(main())

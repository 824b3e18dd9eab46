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


def main() -> int:
    load_dotenv()  # the dashboard does not read .env itself; Dagster and Spark inherit it too
    try:
        dagster_port = setting("DAGSTER_PORT")
        streamlit_port = setting("STREAMLIT_PORT")
    except SettingError as exc:
        print(f"[run] error: {exc}")
        return 1
    for port, variable in ((dagster_port, "DAGSTER_PORT"), (streamlit_port, "STREAMLIT_PORT")):
        if port_taken(port):
            print(f"[run] error: port {port} is taken; stop that program or set {variable}")
            return 1

    dagster_home = Path(setting("DAGSTER_HOME") or ROOT / ".stack" / "dagster")
    dagster_home.mkdir(parents=True, exist_ok=True)
    if not (dagster_home / "dagster.yaml").exists():
        shutil.copy(ROOT / "stack" / "dagster.yaml", dagster_home / "dagster.yaml")
    env = {**os.environ, "DAGSTER_HOME": str(dagster_home)}
    logs = ROOT / ".stack" / "logs"
    logs.mkdir(parents=True, exist_ok=True)

    processes = {
        "Dagster": subprocess.Popen(
            [
                str(BIN / "dagster"),
                "dev",
                "-w",
                "workspace.yaml",
                "-h",
                "127.0.0.1",
                "-p",
                str(dagster_port),
            ],
            cwd=ROOT,
            env=env,
            start_new_session=True,
            stdout=open(logs / "dagster.log", "ab"),  # noqa: SIM115 -- lives as long as the child
            stderr=subprocess.STDOUT,
        ),
        "Dashboard": subprocess.Popen(
            [
                str(BIN / "streamlit"),
                "run",
                "streamlit_app/app.py",
                "--server.headless",
                "true",
                "--server.address",
                "127.0.0.1",
                "--server.port",
                str(streamlit_port),
                "--browser.gatherUsageStats",
                "false",
            ],
            cwd=ROOT,
            env=env,
            start_new_session=True,
            stdout=open(logs / "streamlit.log", "ab"),  # noqa: SIM115 -- lives as long as the child
            stderr=subprocess.STDOUT,
        ),
    }

    def stop(*_args) -> None:
        for process in processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        print("[run] stopped Dagster and the dashboard (make stop stops PostgreSQL and Kafka)")

    signal.signal(signal.SIGTERM, lambda *a: (stop(), sys.exit(0)))
    ok = wait_for(dagster_port, processes["Dagster"], 120) and wait_for(
        streamlit_port, processes["Dashboard"], 60
    )
    if not ok:
        stop()
        print(f"[run] error: Dagster or the dashboard did not start; see {logs}")
        return 1
    print(f"[run] Dagster UI:  http://127.0.0.1:{dagster_port}")
    print(f"[run] Dashboard:   http://127.0.0.1:{streamlit_port}")
    print(f"[run] logs in {logs.relative_to(ROOT)}; Ctrl-C stops both")
    try:
        while all(p.poll() is None for p in processes.values()):
            time.sleep(1)
        print("[run] a process exited; see the logs")
    except KeyboardInterrupt:
        pass
    stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

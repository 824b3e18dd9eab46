"""How a Spark application reports to whoever launched it: Dagster Pipes, or JSON lines.

Launched by Dagster (PipesSubprocessClient), events go to the run's log and results come back
as materialization metadata (a large one in a file: Pipes' reader may take a long line
half-written); launched any other way (spark-submit on a cluster, a terminal), the same
events are JSON lines on stdout. Only `dagster-pipes` is needed here: small, no dependencies.
"""

from __future__ import annotations

import contextlib
import json
import sys
import threading

from dagster_pipes import PipesContext, PipesEnvVarParamsLoader, open_dagster_pipes


class Reporter:
    """One per process: events (progress, stops), metadata, errors; thread-safe."""

    def __init__(self, pipes: PipesContext | None = None, stream=None):
        self.pipes = pipes
        self._stream = stream  # None: whatever sys.stdout is when an event is written
        self._lock = threading.Lock()

    @classmethod
    def open(cls) -> Reporter:
        """Pipes when Dagster launched this process, plain JSON lines otherwise."""
        if PipesEnvVarParamsLoader().is_dagster_pipes_process():
            return cls(open_dagster_pipes())
        return cls()

    @property
    def under_dagster(self) -> bool:
        return self.pipes is not None

    def event(self, event: dict, summary: str | None = None) -> None:
        """One event: a JSON line on stdout, and in Dagster's log (as `summary` when given)."""
        line = json.dumps(event, separators=(",", ":"), default=str)
        with self._lock:
            print(line, file=self._stream or sys.stdout, flush=True)
            if self.pipes is not None:
                self.pipes.log.info(summary or line)

    def error(self, message: str) -> None:
        """A failure the caller should show as it is: one line, on stderr and in Dagster's log."""
        with self._lock:
            print(message, file=sys.stderr, flush=True)
            if self.pipes is not None:
                self.pipes.log.error(message)

    def materialize(self, metadata: dict) -> None:
        """Materialization metadata of the asset Dagster launched this process for; a dict or
        a list (a batch's progress) goes as JSON, which Pipes takes only when told so."""
        if self.pipes is not None:
            typed = {
                name: {"raw_value": value, "type": "json"}
                if isinstance(value, dict | list)
                else value
                for name, value in metadata.items()
            }
            with self._lock:
                self.pipes.report_asset_materialization(metadata=typed)

    def close(self) -> None:
        if self.pipes is not None:
            with contextlib.suppress(Exception):
                self.pipes.close()
            self.pipes = None


_current = Reporter()  # JSON lines on stdout until a main() opens Pipes (use_pipes_if_launched)


def use_pipes_if_launched() -> Reporter:
    """The process's reporter: Pipes when Dagster launched it. Call once, first thing in main()."""
    global _current
    _current = Reporter.open()
    return _current


def current() -> Reporter:
    return _current

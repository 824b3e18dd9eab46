"""Where the tally and the recount run: a Python process beside Dagster, or spark-submit."""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping, Sequence

import dagster as dg

from election_io.spark_setup import ROOT


class ApplicationFailed(Exception):
    """A Spark application exited with a failure; `code` is its exit code."""

    def __init__(self, module: str, code: int, message: str):
        super().__init__(message)
        self.module, self.code = module, code


class SparkLauncher(dg.ConfigurableResource):
    """Launches a Spark application of the election (spark_jobs.live_tally, spark_jobs.recount)
    through Dagster Pipes, its progress and result reaching the run either way.

    Locally it is `python -m MODULE`, whose Spark runs in that process (SPARK_SUBMIT=0); for a
    cluster the same module goes through `python -m spark_jobs.launch`, which spark-submits it
    to `master` with the code the executors need and stops it cleanly when the run ends.
    """

    submit: bool = False
    master: str = ""  # blank: SPARK_MASTER, as the application reads it
    python: str = ""  # under spark-submit, the Spark side's Python; blank: this one

    def command(self, module: str, args: Sequence[str] = ()) -> list[str]:
        master = ["--master", self.master] if self.master else []
        if not self.submit:
            return [sys.executable, "-m", module, *master, *args]
        python = ["--python", self.python] if self.python else []
        return [sys.executable, "-m", "spark_jobs.launch", *master, *python, module, *args]

    def run(
        self,
        context: dg.AssetExecutionContext,
        module: str,
        args: Sequence[str],
        env: Mapping[str, str],
        stop_on_termination: bool = False,
    ) -> dg.PipesClientCompletedInvocation:
        """Run the application to its end; raises ApplicationFailed with its exit code if it fails.

        With stop_on_termination, the run's termination reaches it as SIGINT: it finishes its
        batch and stops (and is killed if it has not within 90 s).
        """
        command = self.command(module, args)
        how = "spark-submit" if self.submit else "a local Spark"
        context.log.info(f"starting {module} with {how}: " + " ".join(command[1:]))
        client = dg.PipesSubprocessClient(
            cwd=str(ROOT),
            forward_termination=stop_on_termination,
            termination_timeout_seconds=90,
        )
        try:
            return client.run(
                context=context, command=command, env={"PYTHONUNBUFFERED": "1", **env}
            )
        except Exception as exc:  # the Pipes client's error is not public: read its words
            found = re.search(r"failed with code (-?\d+)", str(exc))
            if found is None:
                raise
            raise ApplicationFailed(module, int(found.group(1)), str(exc)) from exc

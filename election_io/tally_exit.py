"""The live tally's exit codes: what the Spark application says and its supervisor reads.

One declaration for both sides: spark_jobs.live_tally exits with them, election_assets.tally
tells a restart that helps from one that cannot.
"""

OK = 0  # stopped cleanly: drained, SIGTERM or SIGINT
FAILED = 1  # the query failed; the next start resumes from the checkpoint
MISSING_SERVICE = 2  # a service, the schema or the jars are missing
STATE_MISMATCH = 3  # the checkpoint and the ledger disagree: no restart can help
BUSY = 4  # another live tally holds this database's poll book: it is counting, this one stops

# The audit_log action a tally writes when it stops for good (STATE_MISMATCH), with its cause.
TALLY_STOPPED = "tally_stopped"

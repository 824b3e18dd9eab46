-- Dagster's run, event log and schedule storage lives beside the election, not inside it.
CREATE DATABASE dagster;

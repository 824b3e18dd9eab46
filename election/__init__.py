"""The election's domain: contracts, models and rules, pure Python with no I/O.

Shared by the Dagster code location (election_assets), the Spark jobs (spark_jobs) and the
dashboard (streamlit_app). It imports nothing of theirs.
"""

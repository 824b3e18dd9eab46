"""The election's I/O that every application shares (code location, Spark jobs, dashboard).

psycopg and confluent-kafka, nothing of Dagster; shipped to a Spark cluster beside the domain.
"""

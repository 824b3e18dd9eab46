"""Tables replaced whole (the candidates, the voter roll): loaded with COPY into a fresh copy
that is swapped in inside the caller's transaction, and the keys each one is built with."""

from __future__ import annotations

import io

import psycopg
import pyarrow as pa
import pyarrow.csv as pa_csv
from psycopg import sql

CANDIDATE_KEYS = {"pkey": "PRIMARY KEY (candidate_id)"}
VOTER_KEYS = {
    "pkey": "PRIMARY KEY (voter_id)",
    "registration_number_key": "UNIQUE (registration_number)",
}


def copy_arrow(conn: psycopg.Connection, table, columns: tuple[str, ...], rows: pa.Table) -> None:
    """COPY an Arrow table's columns into a table (a name or sql.Composable), as CSV written
    by Arrow: no Python loop per row."""
    if rows.num_rows == 0:
        return
    buffer = io.BytesIO()
    options = pa_csv.WriteOptions(include_header=False, quoting_style="needed")
    pa_csv.write_csv(rows.select(list(columns)), buffer, options)
    target = sql.Identifier(table) if isinstance(table, str) else table
    copy_sql = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv)").format(
        target, sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    with conn.cursor().copy(copy_sql) as copy:
        view = buffer.getbuffer()
        for start in range(0, len(view), 8 << 20):
            copy.write(view[start : start + (8 << 20)])


def replace_table(
    conn: psycopg.Connection,
    table: str,
    columns: tuple[str, ...],
    rows: pa.Table,
    keys: dict[str, str],
) -> None:
    """Load `rows` into a fresh copy of `table` and swap it in, inside the caller's transaction.

    Building the copy and its indexes after the load is faster than maintaining them row by
    row, and a failure leaves the previous table untouched.
    """
    staging = sql.Identifier(f"{table}_next")
    conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(staging))
    conn.execute(
        sql.SQL("CREATE TABLE {} (LIKE {} INCLUDING DEFAULTS)").format(
            staging, sql.Identifier(table)
        )
    )
    copy_arrow(conn, staging, columns, rows)
    for name, definition in keys.items():
        conn.execute(
            sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} " + definition).format(
                staging, sql.Identifier(f"{table}_next_{name}")
            )
        )
    conn.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(table)))
    conn.execute(sql.SQL("ALTER TABLE {} RENAME TO {}").format(staging, sql.Identifier(table)))
    for name in keys:
        conn.execute(
            sql.SQL("ALTER TABLE {} RENAME CONSTRAINT {} TO {}").format(
                sql.Identifier(table),
                sql.Identifier(f"{table}_next_{name}"),
                sql.Identifier(f"{table}_{name}"),
            )
        )

"""Many rows into one table inside the caller's transaction, by the fastest path each database has.

PostgreSQL: ``COPY ... FROM STDIN`` through psycopg's copy protocol (rows are streamed as data, never
as SQL text, so nothing is parsed per row and no statement grows with the batch; psycopg's own
``executemany``/``insertmanyvalues`` path spends most of its time building and parsing multi-row
``INSERT`` statements); JSON columns are sent as JSON. SQLite and others: one ``executemany`` (the
driver's C loop). Columns a row leaves out get their Python-side default, as an ORM insert would.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import JSON, Connection, Table, insert


def _defaults(table: Table, columns: Sequence[str]) -> dict[str, Callable[[], Any] | Any]:
    """The Python-side defaults of the columns a batch leaves out (server defaults stay the server's)."""
    missing: dict[str, Callable[[], Any] | Any] = {}
    for column in table.columns:
        if column.name in columns or column.default is None or column.primary_key:
            continue
        default = column.default
        if getattr(default, "is_callable", False):
            function = default.arg  # type: ignore[attr-defined]
            missing[column.name] = lambda function=function: function(None)
        elif getattr(default, "is_scalar", False):
            missing[column.name] = default.arg  # type: ignore[attr-defined]
    return missing


def insert_rows(connection: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> int:
    """Insert ``rows`` (dicts with the same keys) into ``table`` in the connection's transaction;
    returns how many. Triggers and constraints apply as for ``INSERT`` on every database."""
    if not rows:
        return 0
    if connection.dialect.name != "postgresql":
        connection.execute(insert(table), list(rows))
        return len(rows)
    columns = list(rows[0])
    extra = _defaults(table, columns)
    names = columns + list(extra)
    quote = connection.dialect.identifier_preparer.quote
    statement = (f"COPY {quote(table.name)} ({', '.join(quote(name) for name in names)}) FROM STDIN")
    fixed = [value() if callable(value) else value for value in extra.values()]
    json_columns = [i for i, name in enumerate(columns) if isinstance(table.c[name].type, JSON)]
    if json_columns:
        from psycopg.types.json import Json

        rows = [{**row, **{columns[i]: Json(row[columns[i]]) for i in json_columns}} for row in rows]
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        with cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row([row[name] for name in columns] + fixed)
    finally:
        cursor.close()
    return len(rows)

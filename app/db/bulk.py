"""Many rows into one table in one go, by each driver's fastest path.

Intake writes a thousand claims and a thousand events for one big message. Through SQLAlchemy's
`executemany` that costs, measured on 1,000 ØiR claims (`scripts/dev.py bench intake`), about
110 ms on SQLite and 290 ms on PostgreSQL, against 45 ms and 65 ms that the databases
themselves spend: the rest is per-row parameter handling in Python and, on PostgreSQL, one
Bind/Execute per row. `BulkInsert` keeps SQLAlchemy's own type processing (the bind
processors of each column's type, so a value is stored exactly as an ORM insert would store
it) and hands the converted rows to the driver: `executemany` of positional tuples on SQLite,
`COPY ... FROM STDIN` on PostgreSQL. Constraints, foreign keys and defaults apply as for any
insert; a driver error is raised as SQLAlchemy's (an `IntegrityError` stays one).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Table, exc, insert
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.type_api import _BindProcessorType

_Processor = _BindProcessorType[Any] | None
# On PostgreSQL, COPY pays for itself from this many rows; fewer go as an ordinary insert.
# Measured per message in process: one row by COPY 8.0 ms against 7.2 by INSERT; 4 rows
# 3.0-3.3 against 3.4; 16 rows 1.3-1.5 against 1.6-1.8 (a batch of single-claim messages).
COPY_FROM = 4
# The statement, the row keys in its parameter order, and each parameter's bind processor.
_Plan = tuple[str, tuple[str, ...], list[_Processor]]


class BulkInsert:
    """An insert of many rows into one table, planned once per dialect and column set."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self._plans: dict[tuple[str, tuple[str, ...]], _Plan] = {}
        self._insert = insert(table)

    def execute(self, connection: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert the rows (all with the same keys) in the connection's transaction."""
        if not rows:
            return
        dialect = connection.dialect
        if dialect.name == "postgresql" and len(rows) < COPY_FROM:
            connection.execute(self._insert, rows)
            return
        keys = tuple(rows[0])
        statement, order, processors = self._plan(dialect, keys)
        values = _converted(rows, order, processors)
        if dialect.name == "postgresql":
            _copy(connection, statement, values)
        else:
            connection.exec_driver_sql(statement, values)

    def _plan(self, dialect: Dialect, keys: tuple[str, ...]) -> _Plan:
        plan = self._plans.get((dialect.name, keys))
        if plan is None:
            plan = self._plans[(dialect.name, keys)] = self._make_plan(dialect, keys)
        return plan

    def _make_plan(self, dialect: Dialect, keys: tuple[str, ...]) -> _Plan:
        if dialect.name == "postgresql":
            order = list(keys)
            names = ", ".join(
                dialect.identifier_preparer.quote(self.table.c[k].name) for k in order
            )
            statement = (
                f"COPY {dialect.identifier_preparer.format_table(self.table)} ({names}) FROM STDIN"
            )
        else:
            compiled = self._insert.compile(dialect=dialect, column_keys=list(keys))
            order = list(compiled.positiontup or ())
            if sorted(order) != sorted(keys):
                raise RuntimeError(f"unexpected parameters for {self.table.name}: {order}")
            statement = str(compiled)
        processors = [self.table.c[key].type._cached_bind_processor(dialect) for key in order]
        return statement, tuple(order), processors


def _converted(
    rows: Sequence[Mapping[str, Any]], keys: tuple[str, ...], processors: list[_Processor]
) -> list[tuple[Any, ...]]:
    columns: list[list[Any]] = []
    for key, process in zip(keys, processors, strict=True):
        raw = [row[key] for row in rows]
        if process is None:
            columns.append(raw)
            continue
        # Rows of one batch share many values (the same timestamp, the same message): convert
        # each distinct object once.
        done: dict[int, Any] = {}
        out = []
        for value in raw:
            # None too, as SQLAlchemy does: a JSON column stores it as JSON null, not NULL.
            found = done.get(id(value), done)
            if found is done:
                found = done[id(value)] = process(value)
            out.append(found)
        columns.append(out)
    return list(zip(*columns, strict=True))


def _copy(connection: Connection, statement: str, values: list[tuple[Any, ...]]) -> None:
    import psycopg

    driver = connection.connection.driver_connection
    try:
        with driver.cursor() as cursor, cursor.copy(statement) as copy:  # type: ignore[union-attr]
            for row in values:
                copy.write_row(row)
    except psycopg.Error as error:
        raise exc.DBAPIError.instance(statement, None, error, psycopg.Error) from error

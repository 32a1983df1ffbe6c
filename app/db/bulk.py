"""Many rows in one go, and several statements in one round trip, by each driver's fastest path.

Intake writes a thousand claims and a thousand events for one big message. Through SQLAlchemy's
`executemany` that costs, measured on 1,000 ØiR claims (`scripts/dev.py bench intake`), about
110 ms on SQLite and 290 ms on PostgreSQL, against 45 ms and 65 ms that the databases
themselves spend: the rest is per-row parameter handling in Python and, on PostgreSQL, one
Bind/Execute per row. `BulkInsert` keeps SQLAlchemy's own type processing (the bind
processors of each column's type, so a value is stored exactly as an ORM insert would store
it) and hands the converted rows to the driver: `executemany` of positional tuples on SQLite,
`COPY ... FROM STDIN` on PostgreSQL. Constraints, foreign keys and defaults apply as for any
insert; a driver error is raised as SQLAlchemy's (an `IntegrityError` stays one).

On PostgreSQL every statement costs a round trip to the server (0.15-0.4 ms on the development
machine), and a single-claim message used to make ten of them. `pipeline` and `fetch_all` send
several statements without waiting for each answer (psycopg's pipeline mode): all of intake's
look-ups go in one round trip, and all of its small inserts in another. On SQLite, where a
statement is a function call, they simply run one after the other.
"""

from __future__ import annotations

import collections
import contextlib
import datetime as dt
import json
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, NamedTuple, TypeAlias, cast

from psycopg.pq import TransactionStatus
from sqlalchemy import (
    ARRAY,
    JSON,
    Boolean,
    ColumnElement,
    Connection,
    DateTime,
    Select,
    Table,
    Uuid,
    bindparam,
    exc,
    insert,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.type_api import _BindProcessorType, _ResultProcessorType

_Processor = _BindProcessorType[Any] | None
# A SELECT of any columns, as `fetch_all` takes them.
Query: TypeAlias = Select[*tuple[Any, ...]]
_ResultProcessor = _ResultProcessorType[Any] | None
# On PostgreSQL, COPY pays for itself from this many rows; fewer go as an ordinary insert.
# COPY cannot go in a pipeline, so a write of fewer rows than this is pipelined instead.
# Measured per message in process: one row by COPY 8.0 ms against 7.2 by INSERT; 4 rows
# 3.0-3.3 against 3.4; 16 rows 1.3-1.5 against 1.6-1.8 (a batch of single-claim messages).
COPY_FROM = 4
# The statement, the row keys in its parameter order, and each parameter's bind processor.
_Plan = tuple[str, tuple[str, ...], list[_Processor]]
_IDLE = TransactionStatus.IDLE
# From this many rows, values are converted column by column, each distinct object once
# (`_converted`); fewer are converted row by row.
_BY_COLUMN_FROM = 8


@contextlib.contextmanager
def pipeline(
    connection: Connection, *, begin: bool = False, commit: bool = False
) -> Iterator[None]:
    """Send what the block writes through `BulkInsert` without waiting for each answer.

    On PostgreSQL the statements go in one round trip when the block ends, and an error of
    any of them is raised there (as SQLAlchemy's). Only driver-level statements may run in the
    block: `BulkInsert` inserts that `BulkInsert.pipelines` allows, and `fetch_all`.

    With `begin`, the block's statements are one transaction on a connection that would
    otherwise commit each alone (see `begin`): its BEGIN goes first, in the same round trip.
    With `commit`, a block that ends without an error also commits the transaction, in the
    same round trip: the transaction's work must be done by then, and the caller's own commit
    that follows finds nothing left to do. On SQLite neither does anything (the caller's
    transaction holds the statements, and its commit commits).
    """
    if connection.dialect.name != "postgresql":
        yield
        return
    driver = connection.connection.driver_connection
    opening = begin and _autocommits(connection)
    with (
        _as_sqlalchemy_errors(connection, "(pipeline)"),
        driver.pipeline(),  # type: ignore[union-attr]
    ):
        if opening:
            driver.execute("BEGIN")  # type: ignore[union-attr]
        yield
        if commit:
            # Queued behind the statements as one more, so that it goes with them when the
            # block ends (`driver.commit()` would sync the pipeline here, and its end once
            # more: a round trip for nothing). An error of any statement before it stops it:
            # PostgreSQL skips the rest of the pipeline.
            driver.execute("COMMIT")  # type: ignore[union-attr]


def begin(connection: Connection) -> None:
    """Open a transaction on a connection that commits each statement alone, if none is open.

    Such is the intake writer's connection on PostgreSQL (`Database.writer_transaction`):
    psycopg would otherwise send BEGIN before the first statement of a transaction in a round
    trip of its own, so there the writes begin their own transaction, with `pipeline(begin=True)`
    in the same round trip as themselves, or with this. Anywhere else (a connection already in
    a transaction, SQLite) it does nothing.
    """
    if _autocommits(connection):
        driver = connection.connection.driver_connection
        with _as_sqlalchemy_errors(connection, "BEGIN"):
            driver.execute("BEGIN")  # type: ignore[union-attr]


def _autocommits(connection: Connection) -> bool:
    """Tell whether a PostgreSQL connection runs in autocommit with no transaction open."""
    if connection.dialect.name != "postgresql":
        return False
    driver = connection.connection.driver_connection
    return bool(
        driver.autocommit  # type: ignore[union-attr]
        and driver.info.transaction_status == _IDLE  # type: ignore[union-attr]
    )


@contextlib.contextmanager
def _as_sqlalchemy_errors(connection: Connection, statement: str) -> Iterator[None]:
    """Raise a driver's error as SQLAlchemy's (an `IntegrityError` stays one), no values shown.

    A lost connection is invalidated, as SQLAlchemy does for its own statements, and the error
    says so (`connection_invalidated`): the pool replaces the connection, and a caller may try
    again.
    """
    dialect = connection.dialect
    error_class = dialect.loaded_dbapi.Error
    try:
        yield
    except error_class as error:
        lost = dialect.is_disconnect(error, connection.connection.dbapi_connection, None)
        if lost:
            connection.invalidate(error)
        raise exc.DBAPIError.instance(
            statement, None, error, error_class, connection_invalidated=lost
        ) from error


class _Compiled(NamedTuple):
    query: Query  # kept, so that its id is not reused while it is a key here
    sql: str
    # Each parameter's bind processor; in the statement's order for a positional paramstyle.
    binds: dict[str, _Processor]
    positional: tuple[str, ...] | None
    processors: list[_ResultProcessor]
    row: type[tuple[Any, ...]]

    def parameters(self, values: Mapping[str, Any]) -> Mapping[str, Any] | tuple[Any, ...]:
        converted = {
            name: value if (process := self.binds.get(name)) is None else process(value)
            for name, value in values.items()
        }
        if self.positional is None:
            return converted
        return tuple(converted[name] for name in self.positional)


_COMPILED: dict[tuple[str, int], _Compiled] = {}


def fetch_all(
    connection: Connection, queries: Sequence[tuple[Query, Mapping[str, Any]]]
) -> list[list[Any]]:
    """Run several SELECTs in the connection's transaction and return each one's rows.

    Rows have the selected columns as attributes, with SQLAlchemy's result processing (a
    timestamp comes back timezone-aware UTC, JSON as Python values). The queries are compiled
    once each and run by the driver: on PostgreSQL in one round trip, on SQLite without
    SQLAlchemy's per-execution work, which costs more than SQLite's own look-up. So a query
    must not expand a list into `IN (...)`: match a list parameter with `any_of`.
    """
    plans = [_compiled(connection.dialect, query) for query, _ in queries]
    driver = connection.connection.driver_connection
    cursors = []
    # On SQLite `pipeline` does nothing, and each statement runs as it is sent.
    with pipeline(connection), _as_sqlalchemy_errors(connection, "(look-ups)"):
        for plan, (_, params) in zip(plans, queries, strict=True):
            cursor = driver.cursor()  # type: ignore[union-attr]
            cursor.execute(plan.sql, plan.parameters(params))
            cursors.append(cursor)
    fetched = []
    with _as_sqlalchemy_errors(connection, "(look-ups)"):
        for cursor in cursors:
            fetched.append(cursor.fetchall())
            cursor.close()
    return [
        [plan.row(*_processed(row, plan.processors)) for row in rows]
        for plan, rows in zip(plans, fetched, strict=True)
    ]


def any_of(column: ColumnElement[Any], name: str) -> ColumnElement[bool]:
    """Match `column` against a list given as the one parameter `name`, on either backend.

    PostgreSQL: `column = ANY(:name)`, an array. SQLite: `column IN (SELECT value FROM
    json_each(:name))`, a JSON array; SQLite looks each value up in the column's index as for
    an IN list. Unlike an expanded IN list, the statement is the same for any number of values,
    so it is compiled once (`fetch_all`).
    """
    return _AnyOf(column, name)


class _AnyOf(ColumnElement[bool]):
    inherit_cache = False
    type = Boolean()
    # A comparison, like IN: without this SQLite (no boolean type) gets `... = 1` appended,
    # which hides the IN from its planner and scans instead of looking values up.
    _is_implicitly_boolean = True

    def __init__(self, column: ColumnElement[Any], name: str) -> None:
        self.column = column
        self.name = name


@compiles(_AnyOf, "postgresql")
def _any_of_postgresql(element: _AnyOf, compiler: SQLCompiler, **kw: Any) -> str:
    values = bindparam(element.name, type_=ARRAY(element.column.type))
    return f"{compiler.process(element.column, **kw)} = ANY ({compiler.process(values, **kw)})"


@compiles(_AnyOf)
def _any_of_json(element: _AnyOf, compiler: SQLCompiler, **kw: Any) -> str:
    values = bindparam(element.name, type_=JSON())
    return (
        f"{compiler.process(element.column, **kw)} IN "
        f"(SELECT value FROM json_each({compiler.process(values, **kw)}))"
    )


def _compiled(dialect: Dialect, query: Query) -> _Compiled:
    found = _COMPILED.get((dialect.name, id(query)))
    if found is None:
        columns = list(query.selected_columns)
        compiled = query.compile(dialect=dialect)
        binds = {
            name: bind.type._cached_bind_processor(dialect)
            for bind, name in compiled.bind_names.items()
        }
        found = _COMPILED[(dialect.name, id(query))] = _Compiled(
            query=query,
            sql=compiled.string,
            binds=binds,
            positional=tuple(compiled.positiontup) if compiled.positiontup is not None else None,
            processors=[column.type._cached_result_processor(dialect, None) for column in columns],
            row=collections.namedtuple("Row", [column.key for column in columns]),  # type: ignore[misc]
        )
    return found


def _processed(row: tuple[Any, ...], processors: list[_ResultProcessor]) -> list[Any]:
    return [
        value if process is None else process(value)
        for value, process in zip(row, processors, strict=True)
    ]


class BulkInsert:
    """An insert of many rows into one table, planned once per dialect and column set."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self._plans: dict[tuple[str, tuple[str, ...], bool], _Plan] = {}
        self._insert = insert(table)

    @staticmethod
    def pipelines(connection: Connection, count: int) -> bool:
        """Tell whether inserting `count` rows may run inside `pipeline` (no COPY needed)."""
        return connection.dialect.name != "postgresql" or count < COPY_FROM

    def execute(self, connection: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert the rows (all with the same keys) in the connection's transaction."""
        if not rows:
            return
        dialect = connection.dialect
        keys = tuple(rows[0])
        copy = dialect.name == "postgresql" and len(rows) >= COPY_FROM
        statement, order, processors = self._plan(dialect, keys, copy=copy)
        values = _converted(rows, order, processors)
        if copy:
            _copy(connection, statement, values)
        else:
            # By the driver itself on SQLite too: SQLAlchemy's execution around it (context,
            # result set-up) cost more than SQLite's own insert of a single-claim message.
            _executemany(connection, statement, values)

    @contextlib.contextmanager
    def streaming(
        self, connection: Connection
    ) -> Iterator[Callable[[Sequence[Mapping[str, Any]]], None]]:
        """PostgreSQL: one COPY into the table, fed rows a chunk at a time by the block.

        The block gets a function that takes rows (all with the same keys, in every call);
        psycopg sends them as its buffer fills, so PostgreSQL stores the first rows while the
        block makes the next ones. The COPY ends, and its errors are raised (as
        SQLAlchemy's), when the block ends.
        """
        if connection.dialect.name != "postgresql":
            raise RuntimeError("streaming inserts are for PostgreSQL")
        driver = connection.connection.driver_connection
        with contextlib.ExitStack() as stack:
            # Entered first, so that it also sees the errors of ending the COPY.
            stack.enter_context(_as_sqlalchemy_errors(connection, f"COPY {self.table.name}"))
            copying: list[Any] = []

            def write(rows: Sequence[Mapping[str, Any]]) -> None:
                if not rows:
                    return
                if not copying:
                    statement, order, processors = self._plan(
                        connection.dialect, tuple(rows[0]), copy=True
                    )
                    cursor = stack.enter_context(driver.cursor())  # type: ignore[union-attr]
                    copying.extend((stack.enter_context(cursor.copy(statement)), order, processors))
                copy, order, processors = copying
                for row in _converted(rows, order, processors):
                    copy.write_row(row)

            yield write

    def _plan(self, dialect: Dialect, keys: tuple[str, ...], *, copy: bool) -> _Plan:
        plan = self._plans.get((dialect.name, keys, copy))
        if plan is None:
            plan = self._plans[(dialect.name, keys, copy)] = self._make_plan(dialect, keys, copy)
        return plan

    def _make_plan(self, dialect: Dialect, keys: tuple[str, ...], copy: bool) -> _Plan:
        if dialect.name == "postgresql":
            order = list(keys)
            names = ", ".join(
                dialect.identifier_preparer.quote(self.table.c[k].name) for k in order
            )
            table = dialect.identifier_preparer.format_table(self.table)
            if copy:
                statement = f"COPY {table} ({names}) FROM STDIN"
            else:
                statement = (
                    f"INSERT INTO {table} ({names}) VALUES ({', '.join(['%s'] * len(order))})"
                )
        else:
            compiled = self._insert.compile(dialect=dialect, column_keys=list(keys))
            order = list(compiled.positiontup or ())
            if sorted(order) != sorted(keys):
                raise RuntimeError(f"unexpected parameters for {self.table.name}: {order}")
            statement = str(compiled)
        processors = [self._processor(dialect, key, copy) for key in order]
        return statement, tuple(order), processors

    def _processor(self, dialect: Dialect, key: str, copy: bool) -> _Processor:
        column_type = self.table.c[key].type
        if isinstance(column_type, JSON) and not column_type.none_as_null:
            # The engine's own serializer, called directly: SQLAlchemy's processor around it
            # only looks for SQL NULL markers, which no row here holds. On PostgreSQL the text
            # goes as it is (COPY's text, or an untyped parameter PostgreSQL reads as JSON),
            # not wrapped for psycopg's JSON dumper (Python code, per value): the Python side
            # of COPY for 1,000 claim rows, with five JSON columns each, took 17-22 ms of CPU
            # that way and 8-12 ms this way.
            serializer = getattr(dialect, "_json_serializer", None) or json.dumps
            return cast(_Processor, serializer)
        if copy and isinstance(column_type, Uuid):
            # The same for UUIDs: 32 hex digits are a uuid literal.
            return cast(_Processor, _uuid_text)
        process = column_type._cached_bind_processor(dialect)
        if copy and column_type._type_affinity is DateTime:  # `UtcDateTime` too
            # And for timestamps, which psycopg renders anew for every row although a batch's
            # rows share a handful (`_converted` renders each distinct one once): 1 ms of the
            # 4 ms COPY took to format 1,000 claim rows went to each of their two timestamps.
            return _then_timestamp_text(process)
        return process


def set_column(connection: Connection, table: Table, column: str, value: Any, *, key: Any) -> None:
    """PostgreSQL: set one column of the row whose `id` is `key`, by the driver.

    It may run in `pipeline`. The value goes as the driver adapts it (a JSON column takes
    JSON text).
    """
    if connection.dialect.name != "postgresql":
        raise RuntimeError("set_column is for PostgreSQL")
    preparer = connection.dialect.identifier_preparer
    statement = (
        f"UPDATE {preparer.format_table(table)} SET {preparer.quote(table.c[column].name)} = %s "
        f"WHERE {preparer.quote(table.c.id.name)} = %s"
    )
    driver = connection.connection.driver_connection
    with _as_sqlalchemy_errors(connection, statement):
        driver.execute(statement, (value, key))  # type: ignore[union-attr]


def _uuid_text(value: uuid.UUID | None) -> str | None:  # a `_Processor`
    return None if value is None else value.hex


def _then_timestamp_text(process: _Processor) -> _Processor:
    """The column type's own bind processing, then the timestamp as text for COPY.

    ISO 8601 with its offset, which PostgreSQL reads as the same instant. A naive value (the
    column types here refuse one) is left to psycopg, which knows how to send one.
    """

    def text(value: Any) -> Any:
        if process is not None:
            value = process(value)
        if isinstance(value, dt.datetime) and value.tzinfo is not None:
            return value.isoformat()
        return value

    return text


def _converted(
    rows: Sequence[Mapping[str, Any]], keys: tuple[str, ...], processors: list[_Processor]
) -> list[tuple[Any, ...]]:
    if len(rows) < _BY_COLUMN_FROM:
        # A few rows (a single-claim message): row by row, with nothing to share.
        plan = list(zip(keys, processors, strict=True))
        return [
            tuple(row[key] if process is None else process(row[key]) for key, process in plan)
            for row in rows
        ]
    columns: list[list[Any]] = []
    for key, process in zip(keys, processors, strict=True):
        raw = [row[key] for row in rows]
        if process is None:
            columns.append(raw)
            continue
        # None is converted too, as SQLAlchemy does: a JSON column stores it as JSON null.
        if len({id(value) for value in raw}) == len(raw):
            columns.append(list(map(process, raw)))
            continue
        # Rows of one batch share many values (the same timestamp, the same message): convert
        # each distinct object once.
        done: dict[int, Any] = {}
        out = []
        for value in raw:
            found = done.get(id(value), done)
            if found is done:
                found = done[id(value)] = process(value)
            out.append(found)
        columns.append(out)
    return list(zip(*columns, strict=True))


def _executemany(connection: Connection, statement: str, values: list[tuple[Any, ...]]) -> None:
    driver = connection.connection.driver_connection
    with (
        _as_sqlalchemy_errors(connection, statement),
        contextlib.closing(driver.cursor()) as cursor,  # type: ignore[union-attr]
    ):
        cursor.executemany(statement, values)


def _copy(connection: Connection, statement: str, values: list[tuple[Any, ...]]) -> None:
    driver = connection.connection.driver_connection
    with (
        _as_sqlalchemy_errors(connection, statement),
        driver.cursor() as cursor,  # type: ignore[union-attr]
        cursor.copy(statement) as copy,
    ):
        for row in values:
            copy.write_row(row)

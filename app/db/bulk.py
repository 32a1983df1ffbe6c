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
several statements without waiting for each answer (libpq's pipeline mode): all of intake's
look-ups go in one round trip, and all of its small inserts in another. They drive libpq
themselves (`_Wire`), through psycopg's libpq wrapper, with psycopg's own adapters for the
values both ways: psycopg's pipeline, cursors and results, in Python around each statement,
cost about 55 microseconds of CPU per statement on the development machine, against 10 this
way, which for the nine statements of a single-claim message was a third of its time in the
server process. On SQLite, where a statement is a function call, they simply run one after
the other.
"""

from __future__ import annotations

import collections
import contextlib
import contextvars
import datetime as dt
import json
import re
import select
import uuid
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, NamedTuple, TypeAlias, cast

from psycopg import errors as pg_errors
from psycopg.adapt import PyFormat, Transformer
from psycopg.pq import ExecStatus, TransactionStatus
from psycopg.pq.abc import PGconn, PGresult
from sqlalchemy import (
    ARRAY,
    JSON,
    Boolean,
    ColumnElement,
    Connection,
    DateTime,
    Select,
    Table,
    TextualSelect,
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
# A SELECT of any columns, as `fetch_all` takes them (a `text()` one with its `columns`).
Query: TypeAlias = Select[*tuple[Any, ...]] | TextualSelect
_ResultProcessor = _ResultProcessorType[Any] | None
# On PostgreSQL, COPY pays for itself from this many rows; fewer go as an ordinary insert.
# COPY cannot go in a pipeline, so a write of fewer rows than this is pipelined instead
# (`_Wire`, one prepared insert per row). Measured in process, claims and their events with
# the commit, pipelined against COPY, wall/CPU ms: 4 rows 0.6/0.2 against 1.2/0.55, 16 rows
# 1.2-1.3/0.4 against 1.6-1.7/0.7, 32 rows 2.0-2.1/0.6 against 2.1-2.4/0.8, 64 rows
# 3.5-3.8/1.0 against 3.5-3.7/1.15. End to end at 16 clients, where the writer's batches are
# of such sizes, a threshold of 32 instead of 4 took 1,060-1,300 to 1,320-1,640 messages/s.
COPY_FROM = 64
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
    block: `BulkInsert` inserts that `BulkInsert.pipelines` allows, `set_column`, and
    `fetch_all` (which waits for what the block has sent so far, and its own).

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
    if _active_wire(connection) is not None:
        raise RuntimeError("pipeline blocks do not nest")
    opening = begin and _autocommits(connection)
    # A block that both opens and commits its transaction needs neither BEGIN nor COMMIT:
    # PostgreSQL runs every statement up to a pipeline's sync as one implicit transaction,
    # committed at the sync if all succeeded and rolled back if any failed (its protocol's
    # extended query). Two statements and their results fewer per single-claim message.
    implicit = opening and commit
    with _as_sqlalchemy_errors(connection, "(pipeline)"), _Wire(connection) as wire:
        if opening and not implicit:
            wire.send(b"BEGIN")
        wire.implicit = implicit
        token = _WIRE.set(wire)
        try:
            yield
        finally:
            _WIRE.reset(token)
        if commit and not implicit:
            # Behind the statements, in the same round trip. An error of any statement
            # before it stops it: PostgreSQL skips the rest of the pipeline.
            wire.send(b"COMMIT")
        wire.sync()


def begin(connection: Connection) -> None:
    """Open a transaction on a connection that commits each statement alone, if none is open.

    Such is the intake writer's connection on PostgreSQL (`Database.writer_connection`):
    psycopg would otherwise send BEGIN before the first statement of a transaction in a round
    trip of its own, so there the writes begin their own transaction, with `pipeline(begin=True)`
    in the same round trip as themselves, or with this. Anywhere else (a connection already in
    a transaction, SQLite) it does nothing.
    """
    if _autocommits(connection):
        with _as_sqlalchemy_errors(connection, "BEGIN"), _Wire(connection) as wire:
            wire.send(b"BEGIN")
            wire.sync()


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
    if connection.dialect.name == "postgresql":
        fetched = _fetch_postgresql(connection, plans, [params for _, params in queries])
    else:
        driver = connection.connection.driver_connection
        fetched = []
        with _as_sqlalchemy_errors(connection, "(look-ups)"):
            for plan, (_, params) in zip(plans, queries, strict=True):
                cursor = driver.cursor()  # type: ignore[union-attr]
                cursor.execute(plan.sql, plan.parameters(params))
                fetched.append(cursor.fetchall())
                cursor.close()
    return [
        [plan.row(*_processed(row, plan.processors)) for row in rows]
        for plan, rows in zip(plans, fetched, strict=True)
    ]


def _fetch_postgresql(
    connection: Connection, plans: Sequence[_Compiled], params: Sequence[Mapping[str, Any]]
) -> list[list[tuple[Any, ...]]]:
    """Run the look-ups in one round trip (with what a `pipeline` block has sent so far)."""
    with _as_sqlalchemy_errors(connection, "(look-ups)"), contextlib.ExitStack() as stack:
        wire = _active_wire(connection) or stack.enter_context(_Wire(connection))
        if wire.implicit:
            # Its sync would commit the block's implicit transaction half-way.
            raise RuntimeError("no look-up inside a pipeline block that opens and commits")
        for plan, values in zip(plans, params, strict=True):
            wire.send(plan.sql.encode(), cast(tuple[Any, ...], plan.parameters(values)))
        results = wire.sync()[-len(plans) :] if plans else []
        return [wire.rows(result) for result in results]


class GuardFailed(Exception):
    """A `guard`'s condition did not hold: its transaction's writes and COMMIT were skipped."""


def guard(connection: Connection, query: Query, params: Mapping[str, Any], *, meaning: str) -> None:
    """PostgreSQL: hold the transaction's writes to a condition checked by the server.

    `query` selects one boolean. In a `pipeline` block, the block then raises `GuardFailed`
    when it ends unless the condition held when PostgreSQL came to it, and everything sent
    after it (the block's COMMIT too) is skipped, so the caller rolls back. A block can so
    commit writes that were decided on an earlier reading, in one round trip, if that
    reading still holds. Outside a block it is checked at once.

    `meaning` says in PostgreSQL's log what a failure means: the failure is logged there
    as a division by zero, with the statement, which starts with it as a comment.

    Prepared on the server like the inserts (unless the connection's prepared writes are
    off): its plan does not depend on its values, and PostgreSQL parsing and planning intake's
    guard for every message took 0.17 ms of its 0.5 ms round trip (its log's durations).
    """
    if "*/" in meaning:
        raise ValueError("a guard's meaning cannot end a comment")
    if connection.dialect.name != "postgresql":
        raise RuntimeError("guard is for PostgreSQL")
    plan = _compiled(connection.dialect, query)
    # A failing statement stops the pipeline: a division by zero when the condition does
    # not hold (with the zero not a constant, or PostgreSQL would divide while planning).
    statement = f"/* {meaning} */ SELECT 1 / (CASE WHEN ({plan.sql}) THEN 1 ELSE 0 END)".encode()
    values = cast(tuple[Any, ...], plan.parameters(params))
    prepare = bool(connection.info.get(PREPARED_WRITES))
    wire = _active_wire(connection)
    if wire is not None:
        wire.send(statement, values, prepare=prepare, guard=True)
        return
    with _as_sqlalchemy_errors(connection, "(guard)"), _Wire(connection) as own:
        own.send(statement, values, prepare=prepare, guard=True)
        own.sync()


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
        sql = compiled.string
        positional = tuple(compiled.positiontup) if compiled.positiontup is not None else None
        if dialect.name == "postgresql":
            # libpq takes numbered parameters (`_Wire`).
            sql, positional = _numbered(sql)
        found = _COMPILED[(dialect.name, id(query))] = _Compiled(
            query=query,
            sql=sql,
            binds=binds,
            positional=positional,
            processors=[column.type._cached_result_processor(dialect, None) for column in columns],
            row=collections.namedtuple("Row", [column.key for column in columns]),  # type: ignore[misc]
        )
    return found


_PYFORMAT = re.compile(r"%\((\w+)\)s|%%")


def _numbered(sql: str) -> tuple[str, tuple[str, ...]]:
    """Turn psycopg's `%(name)s` parameters into libpq's `$1`, `$2`, ...; return the names."""
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        name = match.group(1)
        if name is None:  # `%%`, a percent sign
            return "%"
        if name not in names:
            names.append(name)
        return f"${names.index(name) + 1}"

    return _PYFORMAT.sub(number, sql), tuple(names)


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
        elif dialect.name == "postgresql":
            _send(connection, statement, statement.encode(), *values)
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
                numbers = ", ".join(f"${n}" for n in range(1, len(order) + 1))
                statement = f"INSERT INTO {table} ({names}) VALUES ({numbers})"
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
        f"UPDATE {preparer.format_table(table)} SET {preparer.quote(table.c[column].name)} = $1 "
        f"WHERE {preparer.quote(table.c.id.name)} = $2"
    )
    _send(connection, statement, statement.encode(), (value, key))


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


# The key, in a connection's `info`, of whether its inserts are prepared on the server
# (`make_engine(prepared_writes=...)`; see `_Wire.send`). Off behind a pooler in transaction
# mode that does not keep prepared statements (PgBouncer before 1.21, for one).
PREPARED_WRITES = "kravbro_prepared_writes"
# The `pipeline` block running in this thread, if any (`_active_wire`).
_WIRE: contextvars.ContextVar[_Wire | None] = contextvars.ContextVar("bulk_wire", default=None)
_SYNCED = ExecStatus.PIPELINE_SYNC
_FAILED = ExecStatus.FATAL_ERROR
_DONE = ExecStatus.COMMAND_OK
_AUTO = PyFormat.AUTO
# Each connection's prepared statements, by statement and parameter types (`_Wire.send`).
_PREPARED: weakref.WeakKeyDictionary[Any, dict[tuple[bytes, tuple[int, ...]], bytes]] = (
    weakref.WeakKeyDictionary()
)


def _active_wire(connection: Connection) -> _Wire | None:
    wire = _WIRE.get()
    if wire is None or wire.driver is not connection.connection.driver_connection:
        return None
    return wire


def _send(connection: Connection, label: str, statement: bytes, *rows: Sequence[Any]) -> None:
    """PostgreSQL: run a statement once per row of parameters (none: once, without).

    In a `pipeline` block it is sent with the block's statements; otherwise in a round trip
    of its own, here.
    """
    prepare = bool(connection.info.get(PREPARED_WRITES))
    wire = _active_wire(connection)
    if wire is not None:
        for row in rows or [()]:
            wire.send(statement, row, prepare=prepare)
        return
    with _as_sqlalchemy_errors(connection, label), _Wire(connection) as own:
        for row in rows or [()]:
            own.send(statement, row, prepare=prepare)
        own.sync()


def run(connection: Connection, statement: str, *params: Any) -> None:
    """PostgreSQL: run a statement for its effect, with parameters `$1`, `$2`, ...

    In a `pipeline` block it goes in the block's round trip; otherwise in one of its own.
    """
    if connection.dialect.name != "postgresql":
        raise RuntimeError("run is for PostgreSQL")
    _send(connection, statement, statement.encode(), params)


class _Wire:
    """PostgreSQL: statements sent by libpq in pipeline mode, and their results read back.

    psycopg's pipeline does the same with a cursor, a queue entry and generator steps in
    Python for each statement; this talks to psycopg's libpq wrapper (`psycopg.pq`) itself
    and uses psycopg's adapters (`Transformer`: the connection's own, in C) for the values,
    so a value goes and comes back exactly as through a cursor. Statements are sent as they
    come, so PostgreSQL starts on them while Python makes the next; `sync` waits for them
    all. The connection is left as psycopg knows it: out of pipeline mode, and in whatever
    transaction state the statements left it (a failed one ends in an aborted transaction
    that the caller's rollback ends). On a connection that does not autocommit, the first
    statement begins a transaction, as psycopg's would.
    """

    def __init__(self, connection: Connection) -> None:
        driver: Any = connection.connection.driver_connection
        self.driver = driver
        self.pgconn: PGconn = driver.pgconn
        self.transformer = Transformer(self.driver)
        self.sent = 0
        self._poll: select.poll | None = None
        # Statements being prepared in this round trip: where, which, under what name.
        self._prepares: list[tuple[int, tuple[bytes, tuple[int, ...]], bytes]] = []
        self._preparing: dict[tuple[bytes, tuple[int, ...]], bytes] = {}
        # Where the guards are among the statements of this round trip.
        self._guards: set[int] = set()
        # Its statements are one implicit transaction, committed by the sync (`pipeline`).
        self.implicit = False

    def __enter__(self) -> _Wire:
        opening = not self.driver.autocommit and self.pgconn.transaction_status == _IDLE
        self.pgconn.enter_pipeline_mode()
        if opening:
            # The connection's transaction begins, as psycopg begins it before a first
            # statement; the caller's commit or rollback ends it.
            self.send(b"BEGIN")
        return self

    def __exit__(self, kind: object, error: object, traceback: object) -> None:
        try:
            if self.sent:  # the block failed before `sync`: collect what was sent
                with contextlib.suppress(Exception):
                    self.sync()
        finally:
            try:
                self.pgconn.exit_pipeline_mode()
            except Exception:
                # Results left unread (the connection broke, or reading them was cut short):
                # closed, so that it is not used again as it is (SQLAlchemy replaces it).
                self.driver.close()

    def send(
        self,
        statement: bytes,
        params: Sequence[Any] = (),
        *,
        prepare: bool = False,
        guard: bool = False,
    ) -> None:
        """Queue a statement with its parameters (`$1`, `$2`, ...), as psycopg adapts them.

        With `prepare`, the statement is prepared on the connection the first time and run
        as such from then on: PostgreSQL then no longer parses and plans it each time (a
        single-claim message's writes, measured: 0.69 ms to 0.52-0.54). For writes and guards
        only: a look-up's best plan depends on its values, and prepared look-ups, measured,
        were twice as slow. With `guard`, its failure is a `GuardFailed` (see `guard`).
        """
        transformer = self.transformer
        values = transformer.dump_sequence(params, [_AUTO] * len(params)) if params else None
        types = (transformer.types or ()) if params else ()
        formats = transformer.formats if params else None
        if not prepare:
            if guard:
                self._guards.add(self.sent)
            self.pgconn.send_query_params(
                statement, values, param_types=types, param_formats=formats
            )
            self.sent += 1
            return
        key = (statement, types)
        prepared = _PREPARED.setdefault(self.driver, {})
        name = prepared.get(key) or self._preparing.get(key)
        if name is None:
            # Known as prepared once PostgreSQL has said so (`sync`): a statement after one
            # that fails in the same round trip is skipped, and so would its preparing be.
            name = f"kravbro_{len(prepared) + len(self._preparing)}".encode()
            self._preparing[key] = name
            self._prepares.append((self.sent, key, name))
            self.pgconn.send_prepare(name, statement, param_types=types)
            self.sent += 1
        if guard:  # its execution's result, not its preparing's, is the guard's
            self._guards.add(self.sent)
        self.pgconn.send_query_prepared(name, values, param_formats=formats)
        self.sent += 1

    def sync(self) -> list[PGresult]:
        """Wait for every statement sent so far; return their results, in order.

        Raises the first failed statement's error (psycopg's), after reading the rest.
        """
        if not self.sent:  # nothing to wait for: no round trip
            return []
        pgconn = self.pgconn
        pgconn.pipeline_sync()
        self.sent = 0
        while pgconn.flush():  # what did not fit in the socket's buffer
            if self._wait(select.POLLIN | select.POLLOUT) & select.POLLIN:
                pgconn.consume_input()
        results: list[PGresult] = []
        failure = None
        guarded = False
        while True:
            while pgconn.is_busy():
                self._wait(select.POLLIN)
                pgconn.consume_input()
            result = pgconn.get_result()
            if result is None:  # between one statement's results and the next's
                continue
            if result.status == _SYNCED:
                break
            if result.status == _FAILED and failure is None:
                failure = pg_errors.error_from_result(result, encoding=self.driver.info.encoding)
                guarded = len(results) in self._guards
            results.append(result)
        prepared = _PREPARED.setdefault(self.driver, {})
        for index, key, name in self._prepares:
            if results[index].status == _DONE:
                prepared[key] = name
        self._prepares.clear()
        self._preparing.clear()
        self._guards.clear()
        if failure is not None:
            if guarded:
                raise GuardFailed("a guard's condition did not hold") from failure
            raise failure
        return results

    def rows(self, result: PGresult) -> list[tuple[Any, ...]]:
        """Return a result's rows as tuples of Python values (psycopg's loaders)."""
        self.transformer.set_pgresult(result)
        return self.transformer.load_rows(0, result.ntuples, tuple)

    def _wait(self, events: int) -> int:
        if self._poll is None:
            self._poll = select.poll()
            self._poll.register(self.pgconn.socket, select.POLLIN | select.POLLOUT)
        self._poll.modify(self.pgconn.socket, events)
        ready = 0
        while not ready:
            ready = sum(found for _, found in self._poll.poll())
        if ready & (select.POLLERR | select.POLLHUP | select.POLLNVAL):
            return events  # let libpq find out what is wrong
        return ready


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

"""Transfer throughput on PostgreSQL: ready claims → UDFØRT at the PSRM simulator.

Run: `python -m tests.benchmarks transfer [--claims 20000] [--workers 1,2,4] [--batch N] [--quick]`
(or `python -m tests.benchmarks.bench_transfer ...`; `--postgres-url` names the server, default
KRAVBRO_TEST_POSTGRES_URL or the local one; a database of its own is created and dropped).

What is measured, over the same N queued claims (real canonical claims, bulk-inserted with
their queued transfers), reset between runs:

- `kravbro worker` ×1, ×2, ×4 as separate processes against `kravbro psrm-simulator --discard`
  (a separate process, one core at most): from the moment the queue is released (workers
  already running and idle) until the last claim is `at_psrm`, polled in the database;
- a raw loop: `SELECT … FOR UPDATE SKIP LOCKED LIMIT batch` + `UPDATE transfer` + `UPDATE claim`
  per batch, no PSRM, no ORM: the floor the database puts under the queue;
- the simulator alone: deliveries of the same size built from the same claims and POSTed (the
  answer parsed), and pre-built ones POSTed: what the PSRM side costs.

CPU seconds per part (workers, simulator, PostgreSQL backends, this process) come from
/proc, so where the time goes is visible. Workers run with KRAVBRO_WORKER_IDLE_SECONDS=0.05 so a
released queue is seen at once; everything else is the worker's defaults unless `--batch` is
given. Numbers depend on the machine and on what else runs on it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import httpx
import psycopg
from sqlalchemy import insert, text
from sqlalchemy.engine import make_url

from adapters.psrm import xml
from adapters.psrm.messages import CreateClaim
from app.db import migrate
from app.db.session import Database
from app.db.tables import Claim, SourceMessage, Transfer
from app.domain.claim import CanonicalClaim
from app.settings import Settings
from tests.crash_harness import Process, Simulator, simulator, start_worker, wait_for, worker_env

DEFAULT_POSTGRES = os.environ.get(
    "KRAVBRO_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
FAR = dt.datetime(9999, 1, 1, tzinfo=dt.UTC)  # transfers wait here until a run releases them
TICK = os.sysconf("SC_CLK_TCK")
CLAIMANT_ID = Settings.model_fields["claimant_id"].default
POLL = 0.02


def _name(db: Database) -> str:
    return make_url(db.url).database or ""


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@contextmanager
def _database(admin_url: str) -> Iterator[str]:
    name = f"kravbro_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(_libpq(admin_url), autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    try:
        migrate.upgrade(url)
        yield url
    finally:
        with psycopg.connect(_libpq(admin_url), autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- claims ------------------------------------------------------------------------------------


def canonical_claim(index: int) -> CanonicalClaim:
    """A valid canonical daycare claim, different for each index."""
    day = dt.date(2025, 1, 1) + dt.timedelta(days=index % 200)
    return CanonicalClaim.model_validate(
        {
            "source": "ky",
            "source_reference": f"BENCH-{index:09d}",
            "claimant_reference": f"KY-BENCH-{index:09d}",
            "claimant_id": CLAIMANT_ID,
            "fordringstype": "KFDAINS",
            "business_area": "daginstitution",
            "principal": Decimal("1200.00") + index % 1000,
            "amount": Decimal("1000.00") + index % 1000,
            "period_start_date": day,
            "period_end_date": day + dt.timedelta(days=30),
            "founding_date": day,
            "due_date": day + dt.timedelta(days=31),
            "srb_date": day + dt.timedelta(days=45),
            "description": "Betaling for daginstitution",
            "liabilities": [
                {
                    "debtor_kind": "CPR",
                    "debtor_id": "0505784634",
                    "limitation_date": day + dt.timedelta(days=31 + 3 * 366),
                }
            ],
        }
    )


def seed(db: Database, claims: list[CanonicalClaim]) -> None:
    """Insert the claims, queued, with their transfers parked at FAR."""
    now = dt.datetime.now(dt.UTC)
    message = uuid.uuid4()
    claim_rows: list[dict[str, Any]] = []
    transfer_rows: list[dict[str, Any]] = []
    for index, claim in enumerate(claims):
        claim_id = uuid.uuid4()
        claim_rows.append(
            {
                "id": claim_id,
                "source": claim.source.value,
                "source_reference": claim.source_reference,
                "message_pk": message,
                "claim_index": index,
                "claimant_id": claim.claimant_id,
                "claimant_reference": claim.claimant_reference,
                "fordringstype": claim.fordringstype,
                "business_area": claim.business_area,
                "category": claim.category.value,
                "main_claim_id": None,
                "state": "queued",
                "principal": claim.principal,
                "amount": claim.amount,
                "data": claim.model_dump(mode="json"),
                "problems": [],
                "content_sha256": f"{index:064d}",
                "revision": 1,
                "received_at": now,
                "updated_at": now,
                "holds": [],
                "next_check_date": None,
                "limitation_date": min(item.limitation_date for item in claim.liabilities),
                "fordrings_id": None,
                "psrm_errors": None,
            }
        )
        transfer_rows.append(
            {
                "claim_id": claim_id,
                "seq": 0,
                "kind": "create",
                "action_id": uuid.uuid4().hex,
                "area": claim.business_area,
                "payload": {},
                "state": "queued",
                "attempts": 0,
                "next_attempt_at": FAR,
                "created_at": now,
                "updated_at": now,
            }
        )
    with db.transaction() as session:
        session.execute(
            insert(SourceMessage),
            [
                {
                    "id": message,
                    "source": "ky",
                    "message_id": "BENCH",
                    "content_sha256": "0" * 64,
                    "media_type": "application/json",
                    "raw": b"{}",
                    "size_bytes": 2,
                    "principal": "bench",
                    "received_at": now,
                    "claim_count": len(claims),
                    "accepted_count": len(claims),
                    "response": {},
                }
            ],
        )
        for start in range(0, len(claims), 5000):
            session.execute(insert(Claim), claim_rows[start : start + 5000])
            session.execute(insert(Transfer), transfer_rows[start : start + 5000])


def reset(db: Database) -> None:
    """Put every claim back in the queue (parked), forget deliveries and events; vacuum."""
    with db.transaction() as session:
        session.execute(
            text(
                "UPDATE transfer SET state = 'queued', delivery_pk = NULL, attempts = 0, "
                "receipt_status = NULL, error = NULL, next_attempt_at = :far"
            ),
            {"far": FAR},
        )
        session.execute(text("UPDATE claim SET state = 'queued', fordrings_id = NULL"))
        session.execute(text("DELETE FROM claim_event"))
        session.execute(text("DELETE FROM delivery"))
        session.execute(text("DELETE FROM worker_status"))
    with db.engine.connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))


def release(db: Database) -> None:
    """Make every parked transfer due now."""
    with db.transaction() as session:
        session.execute(text("UPDATE transfer SET next_attempt_at = now()"))


def unfinished(db: Database) -> bool:
    """Whether any claim is not yet at PSRM (its transfer not accepted): one cheap probe."""
    with db.engine.connect() as connection:
        row = connection.execute(
            text("SELECT 1 FROM transfer WHERE state IN ('queued', 'in_delivery', 'sent') LIMIT 1")
        ).first()
    return row is not None


def accepted(db: Database) -> int:
    with db.engine.connect() as connection:
        count = connection.execute(
            text("SELECT count(*) FROM claim WHERE state = 'at_psrm'")
        ).scalar_one()
    return int(count)


# --- CPU accounting ----------------------------------------------------------------------------


def _cpu_of(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


def _postgres_pids(database: str) -> list[int]:
    """PostgreSQL's own processes and the backends of `database`, not other databases'."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                command = cmdline.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if not command.startswith("postgres"):
            continue
        backend = "(" in command or "[local]" in command
        if not backend or f" {database} " in command:
            pids.append(int(entry))
    return pids


@dataclass
class Cpu:
    """CPU seconds used by each part during one measurement."""

    parts: dict[str, float] = field(default_factory=dict)

    @staticmethod
    def sample(processes: dict[str, list[int]], database: str) -> dict[str, float]:
        sample = {name: sum(_cpu_of(pid) for pid in pids) for name, pids in processes.items()}
        sample["postgres"] = sum(_cpu_of(pid) for pid in _postgres_pids(database))
        usage = os.times()
        sample["bench"] = usage.user + usage.system
        return sample


@contextmanager
def cpu_used(processes: dict[str, list[int]], database: str, into: Cpu) -> Iterator[None]:
    before = Cpu.sample(processes, database)
    yield
    after = Cpu.sample(processes, database)
    into.parts = {name: after[name] - before.get(name, 0.0) for name in after}


# --- the measurements --------------------------------------------------------------------------


@dataclass
class Row:
    what: str
    parallel: int
    claims: int
    seconds: float
    cpu: Cpu
    rates: list[float] = field(default_factory=list)  # every repetition's claims/s

    @property
    def rate(self) -> float:
        return self.claims / self.seconds if self.seconds else 0.0


def run_workers(
    db: Database, sim: Simulator, count: int, claims: int, env: dict[str, str], logs: Path
) -> Row:
    """Start `count` workers, release the queue, time it until every claim is at PSRM."""
    reset(db)
    sim.reset()
    workers = [start_worker(f"bench-w{i}", env, logs) for i in range(count)]
    try:

        def all_up() -> bool:
            with db.engine.connect() as connection:
                up = connection.execute(text("SELECT count(*) FROM worker_status")).scalar_one()
            return int(up) == count

        wait_for(all_up, seconds=60, what="the workers to start", logs=lambda: _logs(workers))
        cpu = Cpu()
        pids = {"workers": [w.pid for w in workers], "simulator": [sim.process.pid]}
        with cpu_used(pids, _name(db), cpu):
            start = time.perf_counter()
            release(db)
            while unfinished(db):
                if time.perf_counter() - start > 600:
                    raise RuntimeError(f"the queue did not drain\n{_logs(workers)}")
                time.sleep(POLL)  # polling the database for the end of the run
            seconds = time.perf_counter() - start
    finally:
        for worker in workers:
            worker.stop()
    with db.engine.connect() as connection:
        deliveries = connection.execute(text("SELECT count(*) FROM delivery")).scalar_one()
        dead = connection.execute(
            text("SELECT count(*) FROM transfer WHERE state <> 'accepted'")
        ).scalar_one()
    state = sim.state()
    if dead or state["actions"] != claims or state["deliveries"] != deliveries:
        raise RuntimeError(f"the run was not clean: {dead} transfers left, simulator {state}")
    return Row("kravbro workers → simulator (discard)", count, claims, seconds, cpu)


def _logs(workers: list[Process]) -> str:
    return "\n".join(f"--- {w.name}\n{w.output()[-3000:]}" for w in workers)


def run_raw_loop(db: Database, threads: int, claims: int, batch: int) -> Row:
    """SELECT … FOR UPDATE SKIP LOCKED + two UPDATEs per batch, in `threads` connections."""
    reset(db)
    release(db)
    connections = [psycopg.connect(_libpq(db.url)) for _ in range(threads)]

    def loop() -> None:
        connection = connections.pop()
        while True:
            with connection.transaction():
                rows = connection.execute(
                    "SELECT id, claim_id FROM transfer WHERE state = 'queued' "
                    "AND next_attempt_at <= now() ORDER BY id LIMIT %s "
                    "FOR UPDATE SKIP LOCKED",
                    (batch,),
                ).fetchall()
                if not rows:
                    used.append(connection)
                    return
                connection.execute(
                    "UPDATE transfer SET state = 'accepted', updated_at = now() WHERE id = ANY(%s)",
                    ([row[0] for row in rows],),
                )
                connection.execute(
                    "UPDATE claim SET state = 'at_psrm', updated_at = now() WHERE id = ANY(%s)",
                    ([row[1] for row in rows],),
                )

    used: list[psycopg.Connection[Any]] = []
    cpu = Cpu()
    try:
        # The connections stay open until their backends' CPU time is read.
        with cpu_used({}, _name(db), cpu):
            start = time.perf_counter()
            _in_threads(loop, threads)
            seconds = time.perf_counter() - start
    finally:
        for connection in [*connections, *used]:
            connection.close()
    if accepted(db) != claims:
        raise RuntimeError("the raw loop missed claims")
    return Row("raw SKIP LOCKED loop (no PSRM)", threads, claims, seconds, cpu)


def _in_threads(work: Callable[[], None], threads: int) -> None:
    running = [threading.Thread(target=work) for _ in range(threads)]
    for thread in running:
        thread.start()
    for thread in running:
        thread.join()


def run_simulator_alone(
    sim: Simulator, claims: list[CanonicalClaim], batch: int, threads: int, *, prebuilt: bool
) -> Row:
    """POST deliveries of `batch` claims to the simulator and parse its answers."""
    sim.reset()
    tag = uuid.uuid4().hex[:8]
    batches = [
        [CreateClaim(uuid.uuid4().hex, claim) for claim in claims[i : i + batch]]
        for i in range(0, len(claims), batch)
    ]

    def build(index: int, actions: list[CreateClaim]) -> bytes:
        return xml.build_delivery(
            delivery_id=f"BENCH-{tag}-{index}",
            transaction_id=str(uuid.uuid4()),
            sender_se="29189846",
            sent_at=dt.datetime.now(dt.UTC),
            actions=actions,
        )

    bodies = [build(i, actions) for i, actions in enumerate(batches)] if prebuilt else []
    work = list(enumerate(batches))
    lock = threading.Lock()

    def loop() -> None:
        with httpx.Client(base_url=sim.url, timeout=120) as client:
            while True:
                with lock:
                    if not work:
                        return
                    index, actions = work.pop()
                raw = bodies[index] if prebuilt else build(index, actions)
                response = client.post("/FordringIndberetService", content=raw)
                response.raise_for_status()
                xml.parse_submit_response(response.content)

    cpu = Cpu()
    with cpu_used({"simulator": [sim.process.pid]}, "", cpu):
        start = time.perf_counter()
        _in_threads(loop, threads)
        seconds = time.perf_counter() - start
    what = (
        "simulator alone: POST pre-built + parse"
        if prebuilt
        else "simulator alone: build + POST + parse"
    )
    return Row(what, threads, len(claims), seconds, cpu)


# --- report ------------------------------------------------------------------------------------


def _machine(db: Database) -> list[str]:
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            model = next(
                line.split(":", 1)[1].strip() for line in info if line.startswith("model name")
            )
    except (OSError, StopIteration):
        pass
    with db.engine.connect() as connection:
        version = connection.execute(text("SHOW server_version")).scalar_one()
    return [
        f"- machine: {os.cpu_count()} CPUs ({model}), Linux {platform.release()}",
        f"- Python {platform.python_version()}, PostgreSQL {version} on the same machine",
    ]


def repeated(times: int, measure: Callable[[], Row]) -> Row:
    """Measure `times` times; return the median run, with every run's rate."""
    runs = sorted((measure() for _ in range(times)), key=lambda row: row.seconds)
    median = runs[len(runs) // 2]
    median.rates = sorted(row.rate for row in runs)
    return median


def _table(rows: list[Row]) -> list[str]:
    out = [
        "| what | workers / threads | claims | seconds | claims/s | runs: claims/s | "
        "CPU s: workers · simulator · PostgreSQL · bench |",
        "|---|---:|---:|---:|---:|---|---|",
    ]
    for row in rows:
        cpu = row.cpu.parts
        parts = " · ".join(
            f"{cpu.get(name, 0.0):.1f}" for name in ("workers", "simulator", "postgres", "bench")
        )
        out.append(
            f"| {row.what} | {row.parallel} | {row.claims:,} | {row.seconds:.2f} | "
            f"{row.rate:,.0f} | {' / '.join(f'{rate:,.0f}' for rate in row.rates)} | {parts} |"
        )
    return out


def main(argv: list[str]) -> None:
    """Run the transfer benchmark and print its table."""
    parser = argparse.ArgumentParser(
        prog="python -m tests.benchmarks transfer", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--claims", type=int, default=20_000)
    parser.add_argument("--workers", default="1,2,4", help="comma-separated worker counts")
    parser.add_argument(
        "--batch", type=int, default=None, help="claims a delivery (default: the worker's)"
    )
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs of each measurement; the median is shown"
    )
    parser.add_argument("--quick", action="store_true", help="4,000 claims, one run each")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES)
    options = parser.parse_args(argv)
    count = 4000 if options.quick and options.claims == 20_000 else options.claims
    times = 1 if options.quick else max(1, options.repeat)
    batch = options.batch or Settings.model_fields["worker_batch_size"].default
    levels = [int(part) for part in options.workers.split(",") if part]
    command = " ".join(["python -m tests.benchmarks transfer", *argv])

    print(f"transfer benchmark: seeding {count:,} claims", file=sys.stderr)
    claims = [canonical_claim(i) for i in range(count)]
    rows: list[Row] = []
    with _database(options.postgres_url) as url, TemporaryDirectory() as folder:
        db = Database(url, pool_size=2)
        try:
            seed(db, claims)
            machine = _machine(db)
            with simulator(Path(folder), discard=True) as sim:
                env = worker_env(url, sim.url, worker_idle_seconds=0.05)
                if options.batch:
                    env["KRAVBRO_WORKER_BATCH_SIZE"] = str(options.batch)
                for workers in levels:
                    rows.append(
                        repeated(
                            times,
                            lambda w=workers: run_workers(db, sim, w, count, env, Path(folder)),
                        )
                    )
                    print(f"  {workers} workers: {rows[-1].rates} claims/s", file=sys.stderr)
                for threads in (1, 2):
                    rows.append(
                        repeated(times, lambda t=threads: run_raw_loop(db, t, count, batch))
                    )
                for threads in (1, 2):
                    rows.append(
                        repeated(
                            times,
                            lambda t=threads: run_simulator_alone(
                                sim, claims, batch, t, prebuilt=False
                            ),
                        )
                    )
                rows.append(
                    repeated(
                        times, lambda: run_simulator_alone(sim, claims, batch, 1, prebuilt=True)
                    )
                )
        finally:
            db.dispose()

    two = [row.rate for row in rows if row.what.startswith("kravbro") and row.parallel == 2]
    print(
        "\n".join(
            [
                "",
                "## Transfer benchmark",
                "",
                f"Command: `{command}`",
                "",
                *machine,
                f"- {count:,} claims, deliveries of {batch}; the simulator in discard mode "
                "(one process); workers, simulator and PostgreSQL share the machine",
                f"- each measurement run {times}×, the median shown (seconds, claims/s, CPU); "
                "CPU seconds from /proc: worker processes, the simulator process, PostgreSQL's "
                "backends for this database and its background processes, this process",
                "",
                *_table(rows),
                "",
                "Target ≥ 5,000 claims/s with 2 workers: "
                + (
                    f"{two[0]:,.0f} claims/s ({two[0] / 5000:.0%}, median)"
                    if two
                    else "not measured"
                ),
            ]
        )
    )


if __name__ == "__main__":
    main(sys.argv[1:])

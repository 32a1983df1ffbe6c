"""Intake throughput and latency against live servers on 127.0.0.1, printed as a markdown table.

Run: `python -m tests.benchmarks intake [--quick] [--backend sqlite|postgresql|both]`
(or `python3 scripts/dev.py bench intake`). Not part of the test suite.

What runs, each in its own process, one uvicorn worker each:

* `kravbro serve --no-access-log` on a fresh SQLite file in a temporary folder, and another on
  a fresh PostgreSQL database created for the run and dropped after it (skipped, with a note,
  when PostgreSQL is unreachable). Demo keys on; the PSRM simulator and the embedded transfer
  worker off, so nothing else competes; nothing on-boarded, so every claim is stored held.
* the bare endpoint (`tests/benchmarks/bare_app.py`): the same KY parse → map → validate work
  on the same body, storing nothing.

The load generator is this process: asyncio (uvloop when installed) with one keep-alive
HTTP/1.1 connection per simulated client, written on asyncio streams: httpx spends about 1 ms
of CPU per request (more with a shared pool) -- more than the bare server itself -- so on two
shared cores it would measure itself (`--client httpx` shows that). Every request body is built
before the clock starts and is distinct (own message id, own claim references). A phase stops
after its request count or its time cap, whichever comes first; every answer must be 202 (and
for the big messages, every claim accepted), anything else is counted as an error and the
report says so. Linux only (server CPU time comes from /proc).

1. Single-claim KY messages at 1, 16 and 64 concurrent clients: requests/s, p50 and p99 latency
   (as the client sees it, so including the client's own share of the two cores), the server's
   CPU time per request, and kravbro's rate as a fraction of the bare endpoint's.
2. 1,000-claim ØiR, KSD and KY messages, one at a time: claims/s, median and best.

Client and servers share the machine's cores; the numbers are for comparison, not capacity.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import platform
import random
import socket
import sqlite3
import statistics
import string
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import orjson
import psycopg
from sqlalchemy.engine import make_url

from adapters.ksd import samples as ksd_samples
from adapters.ky import samples as ky_samples
from adapters.oir import samples as oir_samples
from app.domain.identifiers import contains_cpr_like

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_POSTGRES = os.environ.get(
    "KRAVBRO_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
KEYS = {"ky": "demo-ky-key", "ksd": "demo-ksd-key", "oir": "demo-oir-key"}
MEDIA = {"ky": "application/json", "ksd": "application/xml", "oir": "application/xml"}
BULK_CLAIMS = 1_000
TARGET_RATIO = 0.4
TARGET_P99_MS = 50.0
TARGET_CLAIMS_PER_SECOND = 10_000
REQUEST_TIMEOUT = 60.0


@dataclass(frozen=True)
class Profile:
    """How much load: requests per phase by concurrency, the time cap, bulk repetitions."""

    requests: dict[int, int]
    seconds: float
    warmup: int
    bulk_repeats: int


FULL = Profile(requests={1: 1_000, 16: 4_000, 64: 6_000}, seconds=20.0, warmup=200, bulk_repeats=7)
QUICK = Profile(requests={1: 200, 16: 800, 64: 1_500}, seconds=6.0, warmup=64, bulk_repeats=3)


@dataclass
class Server:
    """A server process under test."""

    name: str
    base_url: str
    path: str
    process: subprocess.Popen[bytes]
    log: Path

    def rss_mib(self) -> float:
        """Return the server process's resident memory now, in MiB."""
        try:  # Linux: resident pages, field 2 of /proc/<pid>/statm
            pages = int(Path(f"/proc/{self.process.pid}/statm").read_text().split()[1])
        except OSError:
            return math.nan
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20

    def cpu_seconds(self) -> float:
        """Return the user + system CPU time the server process has used so far."""
        try:  # Linux: utime and stime, fields 14 and 15 of /proc/<pid>/stat
            stat = Path(f"/proc/{self.process.pid}/stat").read_text()
        except OSError:
            return math.nan
        fields = stat.rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Phase:
    """What one phase measured."""

    server: str
    clients: int
    elapsed: float = 0.0
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    warmup_failures: int = 0
    error_samples: dict[str, bytes] = field(default_factory=dict)
    server_cpu: float = 0.0
    client_cpu: float = 0.0
    # The server's resident memory a moment after the phase's last answer (big messages).
    server_rss_mib: float = math.nan

    @property
    def requests(self) -> int:
        return len(self.latencies)

    @property
    def errors(self) -> int:
        return sum(count for status, count in self.statuses.items() if status != "202")

    @property
    def rate(self) -> float:
        return self.requests / self.elapsed if self.elapsed else 0.0

    def percentile(self, fraction: float) -> float:
        """Return a latency percentile in milliseconds (nearest rank)."""
        ordered = sorted(self.latencies)
        if not ordered:
            return math.nan
        rank = max(1, math.ceil(fraction * len(ordered)))
        return ordered[rank - 1] * 1000


# --- servers -----------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _start(
    name: str, command: list[str], *, env: dict[str, str], ready: str, path: str, folder: Path
) -> Server:
    port = _free_port()
    log = folder / f"{name}.log"
    argv = [part.replace("{port}", str(port)) for part in command]
    with log.open("wb") as sink:
        process = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT)
    server = Server(name, f"http://127.0.0.1:{port}", path, process, log)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            if httpx.get(server.base_url + ready, timeout=2).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.1)  # waiting for the server to listen
    _stop(server)
    tail = log.read_text(errors="replace")[-2000:]
    raise RuntimeError(f"{name} did not become ready; its log ends:\n{tail}")


def _stop(server: Server) -> None:
    if server.process.poll() is None:
        server.process.terminate()
        try:
            server.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait(timeout=10)


def _kravbro_command() -> list[str]:
    script = Path(sys.executable).parent / "kravbro"
    base = [str(script)] if script.exists() else [sys.executable, "-m", "app.cli"]
    return [*base, "serve", "--host", "127.0.0.1", "--port", "{port}", "--no-access-log"]


def _kravbro(name: str, database_url: str, folder: Path) -> Server:
    env = {
        **os.environ,
        "KRAVBRO_DATABASE_URL": database_url,
        "KRAVBRO_DEMO": "true",
        "KRAVBRO_PSRM_SIMULATOR": "false",
        "KRAVBRO_WORKER_EMBEDDED": "false",
    }
    return _start(
        name,
        _kravbro_command(),
        env=env,
        ready="/readyz",
        path="/v1/intake/{source}",
        folder=folder,
    )


def _bare(folder: Path) -> Server:
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "tests.benchmarks.bare_app:create_app",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        "{port}",
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    return _start(
        "bare", command, env=dict(os.environ), ready="/openapi.json", path="/bare/ky", folder=folder
    )


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@contextlib.contextmanager
def _postgres_database(admin_url: str) -> Iterator[str]:
    name = f"kravbro_bench_intake_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(_libpq(admin_url), autocommit=True, connect_timeout=3) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(_libpq(admin_url), autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _postgres_version(admin_url: str) -> str | None:
    try:
        with psycopg.connect(_libpq(admin_url), connect_timeout=3) as connection:
            row = connection.execute("SHOW server_version").fetchone()
            return str(row[0]).split()[0] if row else "?"
    except psycopg.Error:
        return None


# --- load --------------------------------------------------------------------------------


def _runner() -> asyncio.Runner:
    try:
        import uvloop
    except ImportError:
        return asyncio.Runner()
    return asyncio.Runner(loop_factory=uvloop.new_event_loop)


def _headers(source: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {KEYS[source]}", "Content-Type": MEDIA[source]}


class _Connection:
    """One keep-alive HTTP/1.1 connection that POSTs and reads `Content-Length` answers.

    Deliberately minimal: httpx spends about 1 ms of CPU per request here, more than the bare
    server, so with client and server on the same two cores it would measure itself.
    """

    def __init__(self, base_url: str, path: str, headers: dict[str, str]) -> None:
        url = httpx.URL(base_url)
        self.host, self.port = url.host, url.port or 80
        lines = [f"POST {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        self.head = ("\r\n".join(lines) + "\r\nContent-Length: ").encode("latin-1")
        self.streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def post(self, body: bytes) -> tuple[int, bytes]:
        """Send one request and return the status and the answer's body."""
        if self.streams is None:
            self.streams = await asyncio.open_connection(self.host, self.port)
        reader, writer = self.streams
        writer.write(b"".join((self.head, str(len(body)).encode(), b"\r\n\r\n", body)))
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length, close = None, False
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"connection" and value.strip().lower() == b"close":
                close = True
        if length is None:
            raise ConnectionError("an answer without Content-Length")
        content = await reader.readexactly(length)
        if close:
            await self.close()
        return status, content

    async def close(self) -> None:
        """Close the connection (the next post opens a new one)."""
        if self.streams is not None:
            writer = self.streams[1]
            self.streams = None
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


class _HttpxConnection:
    """The same interface over one `httpx.AsyncClient` (for `--client httpx`)."""

    def __init__(self, base_url: str, path: str, headers: dict[str, str]) -> None:
        self.path = path
        self.client = httpx.AsyncClient(base_url=base_url, headers=headers, timeout=60)

    async def post(self, body: bytes) -> tuple[int, bytes]:
        response = await self.client.post(self.path, content=body)
        return response.status_code, response.content

    async def close(self) -> None:
        await self.client.aclose()


async def _drive(
    server: Server,
    source: str,
    bodies: list[bytes],
    *,
    clients: int,
    seconds: float,
    warmup: list[bytes],
    check: Callable[[bytes], bool] | None = None,
    client_kind: str = "raw",
) -> Phase:
    """POST `bodies` over `clients` concurrent keep-alive connections; stop at `seconds`."""
    phase = Phase(server.name, clients)
    path = server.path.format(source=source)
    kind = _Connection if client_kind == "raw" else _HttpxConnection
    connections = [kind(server.base_url, path, _headers(source)) for _ in range(clients)]

    async def worker(
        connection: _Connection | _HttpxConnection,
        queue: Iterator[bytes],
        deadline: float,
        record: bool,
    ) -> None:
        clock = time.perf_counter
        while clock() < deadline:
            body = next(queue, None)
            if body is None:
                return
            started = clock()
            answered: float | None = None
            content = b""
            try:
                async with asyncio.timeout(REQUEST_TIMEOUT):
                    code, content = await connection.post(body)
                # The answer's time is when it has come; checking it is the benchmark's own
                # work (reading a 1,000-claim answer took 0.5-1 ms), not the server's.
                answered = clock()
                status = str(code)
                if status == "202" and check is not None and not check(content):
                    status = "202 with rejected claims"
            except (
                OSError,
                EOFError,
                ValueError,
                asyncio.LimitOverrunError,
                httpx.HTTPError,
            ) as exc:
                status = type(exc).__name__
                await connection.close()
            if status != "202":
                phase.error_samples.setdefault(status, content[:500])
            if record:
                phase.latencies.append((answered if answered is not None else clock()) - started)
                phase.statuses[status] += 1
            elif status != "202":
                phase.warmup_failures += 1

    try:
        warm = iter(warmup)
        await asyncio.gather(*(worker(c, warm, math.inf, False) for c in connections))
        queue = iter(bodies)
        cpu_before, client_before = server.cpu_seconds(), time.process_time()
        started = time.perf_counter()
        deadline = started + seconds
        await asyncio.gather(*(worker(c, queue, deadline, True) for c in connections))
        phase.elapsed = time.perf_counter() - started
        phase.server_cpu = server.cpu_seconds() - cpu_before
        phase.client_cpu = time.process_time() - client_before
    finally:
        for connection in connections:
            await connection.close()
    return phase


def _all_accepted(expected: int) -> Callable[[bytes], bool]:
    def check(content: bytes) -> bool:
        counts = orjson.loads(content).get("counts", {})
        return bool(counts.get("claims") == expected and counts.get("accepted") == expected)

    return check


# --- bodies ------------------------------------------------------------------------------


def _letters(count: int) -> str:
    # Letters only: digits in an id can form something shaped like a CPR number, refused.
    return "".join(random.choices(string.ascii_uppercase, k=count))


def _ky(claims: int, message_id: str) -> bytes | None:
    raw = ky_samples.message(claims, message_id=message_id)
    # The references derive from a hash of the message id; about one in 7,000 looks like a CPR
    # number, which intake rightly refuses as personal data. Such messages are left out.
    reference = orjson.loads(raw)["claims"][0]["reference"]
    return None if contains_cpr_like(reference) else raw


def _ky_singles(tag: str, count: int) -> list[bytes]:
    bodies: list[bytes] = []
    serial = 0
    while len(bodies) < count:
        raw = _ky(1, f"{tag}-{serial:06d}")
        serial += 1
        if raw is not None:
            bodies.append(raw)
    return bodies


def _bulk_bodies(source: str, tag: str, repeats: int) -> list[bytes]:
    bodies = []
    for rep in range(repeats):
        message_id = f"{tag}-{source}-{rep:03d}-{_letters(8)}"
        if source == "oir":
            raw = oir_samples.message(BULK_CLAIMS, message_id=message_id)
            # The samples number claims the same in every message: make these references new.
            raw = raw.replace(b"<FordringID>S-", f"<FordringID>{message_id[-8:]}-".encode())
        elif source == "ksd":
            raw = ksd_samples.message(BULK_CLAIMS, message_id=message_id)
        else:
            ky = None
            while ky is None:
                ky = _ky(BULK_CLAIMS, f"{message_id}{_letters(4)}")
            raw = ky
        bodies.append(raw)
    return bodies


# --- report ------------------------------------------------------------------------------


def _machine(postgres: str | None) -> list[str]:
    model = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory = "?"
    with contextlib.suppress(OSError, ValueError, IndexError):
        kib = int(Path("/proc/meminfo").read_text().split("MemTotal:")[1].split()[0])
        memory = f"{kib / 1024 / 1024:.1f} GiB"
    return [
        f"- machine: {os.cpu_count()} cores, {model}, {memory} RAM, "
        f"{platform.system()} {platform.release()}",
        f"- Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
        f"PostgreSQL {postgres or 'not used'} (local, default settings)",
        "- client and servers share the cores; one uvicorn process per server",
        f"- load average when the run started: {_load_average()} (anything else running skews it)",
    ]


def _load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def _single_table(phases: list[Phase], bare_rates: dict[int, float]) -> list[str]:
    lines = [
        "| server | clients | requests | errors | req/s | p50 ms | p99 ms "
        "| server CPU ms/req | client CPU ms/req | vs bare |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for phase in phases:
        ratio = "" if phase.server == "bare" else f"{phase.rate / bare_rates[phase.clients]:.2f}"
        cpu = phase.server_cpu * 1000 / phase.requests if phase.requests else 0.0
        client = phase.client_cpu * 1000 / phase.requests if phase.requests else 0.0
        lines.append(
            f"| {phase.server} | {phase.clients} | {phase.requests} | {phase.errors} "
            f"| {phase.rate:,.0f} | {phase.percentile(0.5):.1f} | {phase.percentile(0.99):.1f} "
            f"| {cpu:.2f} | {client:.2f} | {ratio} |"
        )
    return lines


def _bulk_table(rows: list[tuple[str, str, Phase]]) -> list[str]:
    lines = [
        "| server | message | claims each | messages | errors | median claims/s "
        "| best claims/s | median ms/message | server RSS after, MiB |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for server, label, phase in rows:
        rates = [BULK_CLAIMS / seconds for seconds in phase.latencies]
        median_ms = statistics.median(phase.latencies) * 1000 if rates else 0.0
        median = statistics.median(rates) if rates else 0.0
        best = max(rates) if rates else 0.0
        lines.append(
            f"| {server} | {label} | {BULK_CLAIMS:,} | {phase.requests} | {phase.errors} "
            f"| {median:,.0f} | {best:,.0f} | {median_ms:.0f} | {phase.server_rss_mib:,.0f} |"
        )
    return lines


def _verdicts(
    phases: list[Phase], bulk: list[tuple[str, str, Phase]], bare_rates: dict[int, float]
) -> list[str]:
    lines = []
    for phase in phases:
        if phase.server == "bare":
            continue
        ratio = phase.rate / bare_rates[phase.clients]
        lines.append(
            f"- {phase.server}, {phase.clients} clients: {ratio:.2f} of bare "
            f"({'meets' if ratio >= TARGET_RATIO else 'misses'} ≥ {TARGET_RATIO})"
            + (
                f"; p99 {phase.percentile(0.99):.1f} ms "
                f"({'meets' if phase.percentile(0.99) < TARGET_P99_MS else 'misses'} "
                f"< {TARGET_P99_MS:.0f} ms)"
                if phase.clients == 64
                else ""
            )
        )
    for server, label, phase in bulk:
        rates = [BULK_CLAIMS / seconds for seconds in phase.latencies]
        median = statistics.median(rates) if rates else 0.0
        lines.append(
            f"- {server}, {label}: median {median:,.0f} claims/s "
            f"({'meets' if median >= TARGET_CLAIMS_PER_SECOND else 'misses'} "
            f"≥ {TARGET_CLAIMS_PER_SECOND:,})"
        )
    return lines


# --- main --------------------------------------------------------------------------------


def _without_markdown(argv: list[str]) -> list[str]:
    shown: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--markdown":
            skip = True
        elif not arg.startswith("--markdown="):
            shown.append(arg)
    return shown


def main(argv: list[str]) -> None:
    """Run the intake benchmark and print its tables."""
    parser = argparse.ArgumentParser(
        prog="python -m tests.benchmarks intake", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="fewer requests, shorter caps")
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument(
        "--postgres-url", default=DEFAULT_POSTGRES, help="server to create a database on"
    )
    parser.add_argument(
        "--clients", default="1,16,64", help="comma-separated concurrency levels (1,16,64)"
    )
    parser.add_argument(
        "--client",
        choices=["raw", "httpx"],
        default="raw",
        help="load generator: minimal asyncio HTTP/1.1 (default) or one httpx client per user",
    )
    parser.add_argument(
        "--part",
        choices=["single", "bulk", "both"],
        default="both",
        help="single-claim messages, 1,000-claim messages, or both (the default)",
    )
    parser.add_argument("--markdown", metavar="PATH", help="also write the report to PATH")
    options = parser.parse_args(argv)
    profile = QUICK if options.quick else FULL
    levels = [int(part) for part in options.clients.split(",") if part]
    command = " ".join(["python -m tests.benchmarks intake", *_without_markdown(argv)])
    postgres_version = (
        _postgres_version(options.postgres_url) if options.backend != "sqlite" else None
    )
    machine = _machine(postgres_version)
    notes: list[str] = []
    if options.backend != "sqlite" and postgres_version is None:
        notes.append(
            f"- PostgreSQL at {make_url(options.postgres_url).host} is not reachable: "
            "its rows were not measured"
        )

    tag = _letters(6)
    phases: list[Phase] = []
    bulk: list[tuple[str, str, Phase]] = []
    with contextlib.ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="kravbro-bench-")))
        servers: list[Server] = []
        if options.part != "bulk":
            servers.append(_bare(folder))
            stack.callback(_stop, servers[-1])
        if options.backend in ("sqlite", "both"):
            servers.append(_kravbro("sqlite", f"sqlite:///{folder / 'kravbro.db'}", folder))
            stack.callback(_stop, servers[-1])
        if options.backend in ("postgresql", "both") and postgres_version is not None:
            url = stack.enter_context(_postgres_database(options.postgres_url))
            servers.append(_kravbro("postgresql", url, folder))
            stack.callback(_stop, servers[-1])

        print(f"intake benchmark: {', '.join(s.name for s in servers)}", file=sys.stderr)
        with _runner() as runner:
            for clients in levels if options.part != "bulk" else []:
                count = profile.requests.get(clients, profile.requests[max(profile.requests)])
                for server in servers:
                    label = f"{server.name}-{clients}-{tag}"
                    bodies = _ky_singles(f"B{label}", count)
                    warmup = _ky_singles(f"W{label}", max(profile.warmup, clients))
                    phase = runner.run(
                        _drive(
                            server,
                            "ky",
                            bodies,
                            clients=clients,
                            seconds=profile.seconds,
                            warmup=warmup,
                            client_kind=options.client,
                        )
                    )
                    phases.append(phase)
                    print(
                        f"  {server.name:<10} {clients:>3} clients: {phase.rate:8,.0f} req/s "
                        f"p99 {phase.percentile(0.99):6.1f} ms errors {phase.errors}",
                        file=sys.stderr,
                    )
            for server in (
                [s for s in servers if s.name != "bare"] if options.part != "single" else []
            ):
                for source, label in (("oir", "ØiR XML"), ("ksd", "KSD XML"), ("ky", "KY JSON")):
                    bodies = _bulk_bodies(source, f"M{server.name[:2]}{tag}", profile.bulk_repeats)
                    warmup = _bulk_bodies(source, f"V{server.name[:2]}{tag}", 1)
                    phase = runner.run(
                        _drive(
                            server,
                            source,
                            bodies,
                            clients=1,
                            seconds=profile.seconds * 5,
                            warmup=warmup,
                            check=_all_accepted(BULK_CLAIMS),
                            client_kind=options.client,
                        )
                    )
                    # A moment for what follows an answer (memory given back, `app.memory`).
                    time.sleep(0.5)
                    phase.server_rss_mib = server.rss_mib()
                    bulk.append((server.name, label, phase))
                    print(
                        f"  {server.name:<10} {label}: {phase.requests} messages, "
                        f"errors {phase.errors}",
                        file=sys.stderr,
                    )

    bare_rates = {p.clients: p.rate for p in phases if p.server == "bare"}
    errors = sum(p.errors for p in phases) + sum(p.errors for _, _, p in bulk)
    warm_errors = sum(p.warmup_failures for p in [*phases, *(p for _, _, p in bulk)])
    out = [
        f"## Intake benchmark{' (quick)' if options.quick else ''}",
        "",
        f"Command: `{command}`",
        "",
        *machine,
        *notes,
    ]
    if phases:
        out += [
            "",
            "Single-claim KY messages (`POST /v1/intake/ky`; bare: the same parse → map → "
            "validate, nothing stored); each row stops at its request count or after "
            f"{profile.seconds:.0f} s:",
            "",
            *_single_table(phases, bare_rates),
        ]
    if bulk:
        out += [
            "",
            f"{BULK_CLAIMS:,}-claim messages, one at a time (every claim accepted, stored held):",
            "",
            *_bulk_table(bulk),
        ]
    out += ["", "Targets:", "", *_verdicts(phases, bulk, bare_rates)]
    if errors:
        statuses: Counter[str] = Counter()
        for p in [*phases, *(p for _, _, p in bulk)]:
            statuses.update({k: v for k, v in p.statuses.items() if k != "202"})
        out += ["", f"**THIS RUN HAD {errors} ERRORS** (answers: {dict(statuses)})"]
        samples: dict[str, bytes] = {}
        for p in [*phases, *(p for _, _, p in bulk)]:
            for status, content in p.error_samples.items():
                samples.setdefault(status, content)
        out += [
            f"- first {status}: {content.decode(errors='replace')}"
            for status, content in samples.items()
        ]
    elif warm_errors:
        out += ["", f"**{warm_errors} warm-up requests failed** (not counted above)"]
    report = "\n".join(out)
    print("\n" + report)
    if options.markdown:
        Path(options.markdown).write_text(report + "\n", encoding="utf-8")
    if errors:
        raise SystemExit(1)


if __name__ == "__main__":
    main(sys.argv[1:])

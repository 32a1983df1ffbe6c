"""Throughput of the PSRM XML and simulator: build + POST + parse, against a live uvicorn.

Run: `.venv/bin/python -m tests.benchmarks.bench_psrm_simulator [--claims 20000] [--batch 500]`

The simulator runs in its own process (one uvicorn worker, so one core for the simulator) on
127.0.0.1; this process builds deliveries, POSTs them with one `httpx.Client` and parses the
answers. Prints a table: what was timed, claims, seconds, claims per second. Numbers depend on
the machine and on what else runs on it; run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import os
import resource
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from decimal import Decimal

import httpx

from adapters.psrm import xml
from adapters.psrm.messages import CreateClaim
from adapters.psrm.simulator.state import Simulator, SimulatorConfig
from app.domain.claim import CanonicalClaim

NOW = dt.datetime(2025, 3, 3, 9, tzinfo=dt.UTC)


def _claim(index: int) -> CanonicalClaim:
    day = dt.date(2024, 1, 1) + dt.timedelta(days=index % 300)
    return CanonicalClaim.model_validate(
        {
            "source": "ky",
            "source_reference": f"KY-{index:09d}",
            "claimant_reference": f"REF-{index:09d}",
            "claimant_id": "1229",
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


def _deliveries(claims: list[CanonicalClaim], batch: int, tag: str) -> list[list[CreateClaim]]:
    actions = [CreateClaim(f"{tag}-{i}", claim) for i, claim in enumerate(claims)]
    return [actions[i : i + batch] for i in range(0, len(actions), batch)]


def _build(actions: list[CreateClaim], delivery_id: str) -> bytes:
    return xml.build_delivery(
        delivery_id=delivery_id,
        transaction_id=delivery_id,
        sender_se="12345678",
        sent_at=NOW,
        actions=actions,
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _serve(port: int, discard: bool) -> subprocess.Popen[bytes]:
    code = (
        "from adapters.psrm.simulator import run, SimulatorConfig;"
        f"run(host='127.0.0.1', port={port}, config=SimulatorConfig(discard={discard}))"
    )
    process = subprocess.Popen([sys.executable, "-c", code])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/admin/state", timeout=1)
            return process
        except httpx.TransportError:
            time.sleep(0.1)  # waiting for the server to listen; not a test
    process.kill()
    raise RuntimeError("the simulator did not start")


REPEAT = 3


def _timed(
    label: str, claims: int, work: Callable[[int], None], rows: list[tuple[str, int, float]]
) -> None:
    """Run `work(round)` REPEAT times and keep the best time (the least disturbed run)."""
    times = []
    for round_ in range(REPEAT):
        gc.collect()
        start = time.perf_counter()
        work(round_)
        times.append(time.perf_counter() - start)
    rows.append((label, claims, min(times)))


def _post_all(
    client: httpx.Client, batches: list[list[CreateClaim]], prefix: str, threads: int = 1
) -> None:
    def worker(part: list[tuple[int, list[CreateClaim]]]) -> None:
        for index, actions in part:
            raw = _build(actions, f"{prefix}-{index}")
            response = client.post("/FordringIndberetService", content=raw)
            response.raise_for_status()
            ack = xml.parse_submit_response(response.content)
            assert len(ack.actions) == len(actions)

    numbered = list(enumerate(batches))
    parts = [numbered[i::threads] for i in range(threads)]
    if threads == 1:
        worker(parts[0])
        return
    running = [threading.Thread(target=worker, args=(part,)) for part in parts]
    for thread in running:
        thread.start()
    for thread in running:
        thread.join()


def _post_prebuilt(client: httpx.Client, bodies: list[bytes]) -> None:
    for raw in bodies:
        response = client.post("/FordringIndberetService", content=raw)
        response.raise_for_status()
        xml.parse_submit_response(response.content)


def main() -> None:
    """Measure and print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--claims", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--memory", type=int, default=0, help="also hold N claims in full mode")
    options = parser.parse_args()
    claims = [_claim(i) for i in range(options.claims)]
    batch, n = options.batch, len(claims)
    batches = _deliveries(claims, batch, "B")
    rows: list[tuple[str, int, float]] = []

    def build(round_: int) -> list[bytes]:
        return [_build(actions, f"R{round_}-{i}") for i, actions in enumerate(batches)]

    built = build(0)
    _timed("build deliveries (xml)", n, build, rows)
    _timed("parse deliveries, full claims (xml)", n, lambda _: _parse_all(built), rows)
    _timed("scan deliveries, ids only (xml)", n, lambda _: _scan_all(built), rows)
    for discard in (True, False):
        mode = "discard" if discard else "full"
        simulators = [
            Simulator(SimulatorConfig(discard=discard, clock=lambda: NOW)) for _ in range(REPEAT)
        ]
        _timed(
            f"simulator {mode}: submit in-process",
            n,
            lambda round_, simulators=simulators: _submit_all(simulators[round_], built),
            rows,
        )

    for discard in (True, False):
        mode = "discard" if discard else "full"
        port = _free_port()
        server = _serve(port, discard)
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as client:
                _post_all(client, batches[:2], "warm")
                prebuilt = [
                    [_build(actions, f"P{r}-{i}") for i, actions in enumerate(batches)]
                    for r in range(REPEAT)
                ]
                _timed(
                    f"live {mode}: POST + parse (pre-built)",
                    n,
                    lambda r, c=client, p=prebuilt: _post_prebuilt(c, p[r]),
                    rows,
                )
                _timed(
                    f"live {mode}: build + POST + parse",
                    n,
                    lambda r, c=client: _post_all(c, batches, f"S{r}"),
                    rows,
                )
                _timed(
                    f"live {mode}: build + POST + parse, 2 client threads",
                    n,
                    lambda r, c=client: _post_all(c, batches, f"T{r}", threads=2),
                    rows,
                )
        finally:
            server.terminate()
            server.wait(timeout=30)

    print(f"\nPSRM XML and simulator: {n} claims in deliveries of {batch}, best of {REPEAT}, ")
    print(f"{os.cpu_count()} CPUs; the live simulator is one uvicorn process (one core)\n")
    print(f"{'what':<52} {'claims':>8} {'seconds':>8} {'claims/s':>10}")
    for label, count, seconds in rows:
        print(f"{label:<52} {count:>8} {seconds:>8.2f} {count / seconds:>10.0f}")
    if options.memory:
        _memory(options.memory, batch)


def _parse_all(bodies: list[bytes]) -> None:
    for raw in bodies:
        xml.parse_delivery(raw)


def _scan_all(bodies: list[bytes]) -> None:
    for raw in bodies:
        xml.scan_delivery(raw)


def _submit_all(simulator: Simulator, bodies: list[bytes]) -> None:
    for raw in bodies:
        simulator.submit(raw)


def _resident_bytes() -> int:
    """The process's current resident memory (Linux), else its peak."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _memory(count: int, batch: int) -> None:
    """Hold `count` claims in a full-mode simulator and report the growth of resident memory."""
    simulator = Simulator(SimulatorConfig(clock=lambda: NOW))
    gc.collect()
    before = _resident_bytes()
    for start in range(0, count, batch):
        stop = min(start + batch, count)
        actions = [CreateClaim(f"M-{i}", _claim(i)) for i in range(start, stop)]
        simulator.submit(_build(actions, f"M-{start}"))
    gc.collect()
    grown = _resident_bytes() - before
    held = simulator.state()["claims"]
    print(
        f"\nfull mode holding {held} claims: +{grown / 2**20:.0f} MiB resident "
        f"({grown / max(held, 1):.0f} bytes a claim)"
    )


if __name__ == "__main__":
    main()

"""Real processes for the crash-safety tests and the transfer benchmark.

The PSRM simulator and the transfer workers run as separate `kravbro` processes, as they do in
production; this module starts them, talks to the simulator's admin API, waits for conditions
with a deadline (never for a fixed time) and stops every process it started, by its pid.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import httpx

from tests.live import free_port

T = TypeVar("T")
POLL_SECONDS = 0.02  # how often a condition is checked while waiting for it


def kravbro_command() -> list[str]:
    """The `kravbro` command of this virtual environment (or the module, when not installed)."""
    script = Path(sys.executable).parent / "kravbro"
    return [str(script)] if script.exists() else [sys.executable, "-m", "app.cli"]


def wait_for(
    check: Callable[[], T | None], *, seconds: float, what: str, logs: Callable[[], str] = str
) -> T:
    """Check `check()` until it gives a value other than None/False; fail after `seconds`.

    Raises:
        AssertionError: the condition did not come true in time (with `logs()` appended).
    """
    deadline = time.monotonic() + seconds
    while True:
        result = check()
        if result is not None and result is not False:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {seconds:.0f} s waiting for {what}\n{logs()}")
        time.sleep(POLL_SECONDS)  # polling interval, not a timing assumption


class Process:
    """One child process, its output in a log file, stopped only by its own pid."""

    def __init__(self, name: str, argv: list[str], env: Mapping[str, str], log: Path) -> None:
        self.name = name
        self.log = log
        self._out = log.open("wb")
        self.popen = subprocess.Popen(argv, env=dict(env), stdout=self._out, stderr=self._out)

    @property
    def pid(self) -> int:
        """The process id."""
        return self.popen.pid

    def signal(self, number: signal.Signals) -> None:
        """Send a signal to this process (and only to it)."""
        if self.popen.poll() is None:
            os.kill(self.popen.pid, number)

    def kill(self) -> int:
        """SIGKILL the process and reap it; return its exit status."""
        self.signal(signal.SIGKILL)
        return self.wait(10)

    def stop(self, timeout: float = 20) -> int:
        """Ask the process to stop (SIGTERM), SIGKILL it if it does not; return its status."""
        if self.popen.poll() is None:
            self.signal(signal.SIGCONT)
            self.signal(signal.SIGTERM)
            try:
                return self.wait(timeout)
            except subprocess.TimeoutExpired:
                return self.kill()
        return self.wait(1)

    def wait(self, timeout: float) -> int:
        """Reap the process; return its exit status."""
        try:
            return self.popen.wait(timeout)
        finally:
            if self.popen.returncode is not None:
                self._out.close()

    def output(self) -> str:
        """What the process wrote so far."""
        return self.log.read_text(encoding="utf-8", errors="replace")


class Simulator:
    """The PSRM simulator as its own process: `kravbro psrm-simulator`."""

    def __init__(self, process: Process, url: str) -> None:
        self.process, self.url = process, url
        self.http = httpx.Client(base_url=url, timeout=30)

    def state(self, *, detail: bool = False) -> dict[str, Any]:
        """GET /admin/state (with every claim when `detail`)."""
        params = {"detail": "true", "limit": "100000"} if detail else {}
        response = self.http.get("/admin/state", params=params)
        response.raise_for_status()
        state: dict[str, Any] = response.json()
        return state

    def faults(self, **faults: Any) -> dict[str, Any]:
        """POST /admin/faults."""
        response = self.http.post("/admin/faults", json=faults)
        response.raise_for_status()
        answer: dict[str, Any] = response.json()
        return answer

    def reset(self) -> None:
        """POST /admin/reset: forget every delivery and claim."""
        self.http.post("/admin/reset").raise_for_status()

    def held_submissions(self) -> set[str]:
        """Delivery ids of submissions received whole whose answers the latency holds back."""
        return {
            held["delivery_id"]
            for held in self.state()["held"]
            if held["service"] == "FordringIndberet"
        }

    def references(self) -> dict[str, dict[str, Any]]:
        """Every claim the simulator holds, by claimant reference."""
        return {c["claimant_reference"]: c for c in self.state(detail=True)["claim_list"]}


@contextmanager
def simulator(log_dir: Path, *, discard: bool = False) -> Iterator[Simulator]:
    """Run `kravbro psrm-simulator` on a free port until the block ends."""
    port = free_port()
    argv = [*kravbro_command(), "psrm-simulator", "--port", str(port)]
    if discard:
        argv.append("--discard")
    env = {**os.environ, "KRAVBRO_LOG_LEVEL": "WARNING"}
    process = Process("psrm-simulator", argv, env, log_dir / "psrm-simulator.log")
    sim = Simulator(process, f"http://127.0.0.1:{port}")
    try:

        def listening() -> bool:
            if process.popen.poll() is not None:
                raise AssertionError(f"the simulator exited:\n{process.output()}")
            try:
                return sim.http.get("/admin/state", timeout=1).status_code == 200
            except httpx.TransportError:
                return False

        wait_for(listening, seconds=30, what="the simulator to listen", logs=process.output)
        yield sim
    finally:
        sim.http.close()
        process.stop()


def worker_env(database_url: str, psrm_url: str, **settings: object) -> dict[str, str]:
    """The environment of a `kravbro worker`: KRAVBRO_* settings from keyword arguments."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KRAVBRO_")}
    env.update(
        KRAVBRO_DATABASE_URL=database_url,
        KRAVBRO_PSRM_URL=psrm_url,
        KRAVBRO_LOG_LEVEL="WARNING",
    )
    env.update({f"KRAVBRO_{key.upper()}": str(value) for key, value in settings.items()})
    return env


def start_worker(name: str, env: Mapping[str, str], log_dir: Path) -> Process:
    """Start `kravbro worker --name <name>`."""
    argv = [*kravbro_command(), "worker", "--name", name]
    return Process(name, argv, env, log_dir / f"{name}.log")


def all_output(processes: list[Process]) -> str:
    """The logs of several processes, for a failure message."""
    return "\n".join(f"--- {p.name} (pid {p.pid})\n{p.output()[-4000:]}" for p in processes)

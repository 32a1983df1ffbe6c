"""The `kravbro` command: serve, migrate."""

from __future__ import annotations

import argparse
import gc
import logging
import os

from app import logs
from app.db import migrate
from app.main import SIMULATOR_PATH
from app.settings import get_settings

log = logging.getLogger("kravbro")

# Young-generation threshold for a serving process (CPython's default is 700). A request
# allocates thousands of short-lived objects (parsed XML, pydantic models, rows); at 700 the
# collector runs several times per request and, worse, keeps promoting them into the older
# generations whose collections walk every object alive. Measured with
# `scripts/dev.py bench intake`: p99 at 64 clients fell by about a third. 50,000 rather than
# 20,000: a 1,000-claim message holds some 30,000 objects alive while it is stored, and each
# young collection during it walked them all; in process, collections of 16 such messages
# took 59-72 ms instead of 104-118 ms, and alternating servers showed no worse p99 at 16 or
# 64 clients. The older generations are still collected after a million allocations.
_GC_THRESHOLD = (50_000, 20, 100)


def _tune_gc() -> None:
    """Set the collector up for serving: start-up objects frozen, fewer young collections.

    Called once everything long-lived (settings, catalogue, routes, engine) exists: `freeze`
    moves those objects out of the collector's sight, so no collection walks them again.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*_GC_THRESHOLD)


def _serve(args: argparse.Namespace) -> None:
    import uvicorn

    from app.main import create_app

    if args.demo:
        os.environ["KRAVBRO_DEMO"] = "true"
        os.environ.setdefault("KRAVBRO_CLOCK_CONTROL", "true")
        get_settings.cache_clear()
    settings = get_settings()
    logs.configure(settings.log_level)
    migrate.upgrade(settings.database_url)
    if settings.psrm_url is None and settings.psrm_simulator:
        # Talk to the simulator inside this very server, over HTTP like to the real PSRM.
        settings = settings.model_copy(
            update={"psrm_url": f"http://{args.host}:{args.port}{SIMULATOR_PATH}"}
        )
    if settings.demo:
        log.warning("demo mode: the documented demo API keys are accepted")
    app = create_app(settings)
    if args.demo_data:
        from app import demo

        runtime = app.state.runtime
        demo.load(runtime.db, settings=settings, catalogue=runtime.catalogue, clock=runtime.clock)
    _tune_gc()
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_config=None,
        access_log=not args.no_access_log,
    )


def _worker(args: argparse.Namespace) -> None:
    import signal
    import threading

    from app.clock import Clock
    from app.db.session import Database
    from app.domain import catalogue
    from app.worker import TransferWorker, psrm_client

    settings = get_settings()
    logs.configure(settings.log_level)
    if not settings.psrm_url:
        raise SystemExit("set KRAVBRO_PSRM_URL: the worker must know where PSRM is")
    if args.metrics_port:
        from prometheus_client import start_http_server

        start_http_server(args.metrics_port, addr="127.0.0.1")
    db = Database(
        settings.database_url, pool_size=2, prepared_writes=settings.database_prepared_writes
    )
    worker = TransferWorker(
        db=db,
        settings=settings,
        catalogue=catalogue.load(settings.contracts_dir / "psrm" / "catalogue.json"),
        clock=Clock(),
        client=psrm_client(settings, settings.psrm_url),
        name=args.name,
    )
    _tune_gc()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    worker.run(stop)
    db.dispose()


def _simulator(args: argparse.Namespace) -> None:
    from adapters.psrm import simulator

    logs.configure(get_settings().log_level)
    config = simulator.SimulatorConfig(
        receipt_delay_seconds=args.receipt_delay, discard=args.discard
    )
    simulator.run(host=args.host, port=args.port, config=config)


def _migrate(args: argparse.Namespace) -> None:
    settings = get_settings()
    logs.configure(settings.log_level)
    migrate.upgrade(settings.database_url, args.revision)


def main(argv: list[str] | None = None) -> None:
    """Run the kravbro command line."""
    parser = argparse.ArgumentParser(prog="kravbro")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="migrate the database and start the service")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--demo", action="store_true", help="accept the documented demo keys")
    serve.add_argument("--no-access-log", action="store_true")
    serve.add_argument(
        "--demo-data", action="store_true", help="load demo claims from KY, KSD and ØiR first"
    )
    serve.set_defaults(func=_serve)
    work = commands.add_parser("worker", help="run a transfer worker (PostgreSQL: any number)")
    work.add_argument("--name", default=None, help="the worker's name in /v1/ops/queue")
    work.add_argument("--metrics-port", type=int, default=0, help="serve /metrics on this port")
    work.set_defaults(func=_worker)
    sim = commands.add_parser("psrm-simulator", help="run the PSRM simulator on its own")
    sim.add_argument("--host", default="127.0.0.1")
    sim.add_argument("--port", type=int, default=8600)
    sim.add_argument("--receipt-delay", type=float, default=0.0, help="seconds before receipts")
    sim.add_argument("--discard", action="store_true", help="accept and discard (benchmarks)")
    sim.set_defaults(func=_simulator)
    up = commands.add_parser("migrate", help="bring the database schema up to date")
    up.add_argument("revision", nargs="?", default="head")
    up.set_defaults(func=_migrate)
    args = parser.parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()

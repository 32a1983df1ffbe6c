"""The `kravbro` command: serve, migrate."""

from __future__ import annotations

import argparse
import logging
import os

from app import logs
from app.db import migrate
from app.settings import get_settings

log = logging.getLogger("kravbro")


def _serve(args: argparse.Namespace) -> None:
    import uvicorn

    from app.main import create_app

    if args.demo:
        os.environ["KRAVBRO_DEMO"] = "true"
        get_settings.cache_clear()
    settings = get_settings()
    logs.configure(settings.log_level)
    migrate.upgrade(settings.database_url)
    if settings.demo:
        log.warning("demo mode: the documented demo API keys are accepted")
    uvicorn.run(
        create_app(settings),
        host=args.host,
        port=args.port,
        log_config=None,
        access_log=not args.no_access_log,
    )


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
    serve.set_defaults(func=_serve)
    up = commands.add_parser("migrate", help="bring the database schema up to date")
    up.add_argument("revision", nargs="?", default="head")
    up.set_defaults(func=_migrate)
    args = parser.parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()

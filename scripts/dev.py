#!/usr/bin/env python3
"""kravbro's developer entry point: needs only Python 3.11+.

    python3 scripts/dev.py serve --demo   set up .venv, migrate, start on http://127.0.0.1:8000
    python3 scripts/dev.py test           set up .venv, run the whole test suite
    python3 scripts/dev.py check          formatting, lint, types, import layers
    python3 scripts/dev.py bench          the benchmarks (tests/benchmarks), printing tables

It creates `.venv` beside the project on first use and reinstalls only when pyproject.toml
changes. Anything after the command is passed on (to `kravbro serve`, pytest, ...).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".kravbro-installed"


def _run(*args: str | Path, env: dict[str, str] | None = None) -> int:
    return subprocess.call([str(a) for a in args], cwd=ROOT, env=env)


def ensure_venv(extras: str = "dev") -> None:
    """Create .venv and install the project (editable) when pyproject.toml has changed."""
    if sys.version_info < (3, 11):  # noqa: UP036 - this script runs before the venv exists
        sys.exit("kravbro needs Python 3.11 or newer")
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + extras.encode()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == wanted:
        return
    if not (BIN / "python").exists():
        print("creating .venv ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    print("installing kravbro and its dependencies into .venv ...", flush=True)
    code = _run(BIN / "python", "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    code = code or _run(BIN / "python", "-m", "pip", "install", "--quiet", "-e", f".[{extras}]")
    if code:
        sys.exit(f"installation failed (exit {code})")
    STAMP.write_text(wanted)


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in {"serve", "test", "check", "bench", "shell"}:
        sys.exit(__doc__)
    command, rest = sys.argv[1], sys.argv[2:]
    ensure_venv()
    if command == "serve":
        sys.exit(_run(BIN / "kravbro", "serve", *rest))
    if command == "test":
        sys.exit(_run(BIN / "python", "-m", "pytest", *rest))
    if command == "bench":
        sys.exit(_run(BIN / "python", "-m", "tests.benchmarks", *rest))
    if command == "shell":
        sys.exit(_run(BIN / "python", *rest))
    steps = [
        (BIN / "ruff", "format", "--check", "."),
        (BIN / "ruff", "check", "."),
        (BIN / "mypy", "app", "adapters"),
        (BIN / "lint-imports",),
    ]
    failed = [" ".join(map(str, step[:2])) for step in steps if _run(*step)]
    if failed:
        sys.exit(f"check failed: {', '.join(failed)}")
    print("check passed")


if __name__ == "__main__":
    main()

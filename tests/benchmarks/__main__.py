"""Run kravbro's benchmarks: `python -m tests.benchmarks [intake|transfer|simulator|all] [--quick]`.

Each benchmark is a module here with `main(argv)`; anything after the benchmark's name is passed
on to it. `python3 scripts/dev.py bench ...` runs this with the same arguments. The benchmarks
are not part of the test suite: they start servers, take minutes and print tables.
"""

from __future__ import annotations

import importlib
import inspect
import sys

MODULES = {
    "intake": "tests.benchmarks.bench_intake",
    "transfer": "tests.benchmarks.bench_transfer",
    "simulator": "tests.benchmarks.bench_psrm_simulator",
}
# Options for a benchmark whose main() reads sys.argv itself and knows no --quick.
QUICK_ARGS = {"simulator": ["--claims", "4000"]}


def _run(name: str, argv: list[str]) -> None:
    module_name = MODULES[name]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        print(f"[{name}] skipped: {module_name} does not exist (yet)", flush=True)
        return
    print(f"[{name}] {module_name}", flush=True)
    if inspect.signature(module.main).parameters:
        module.main(argv)
        return
    # An older-style main() parses sys.argv itself.
    if "--quick" in argv:
        argv = [a for a in argv if a != "--quick"] + QUICK_ARGS.get(name, [])
    saved = sys.argv
    sys.argv = [module_name, *argv]
    try:
        module.main()
    finally:
        sys.argv = saved


def main(argv: list[str]) -> None:
    """Run one benchmark, or all of them in turn."""
    if argv and argv[0] in {"-h", "--help"}:
        print(__doc__)
        return
    which, rest = (argv[0], argv[1:]) if argv and not argv[0].startswith("-") else ("all", argv)
    if which != "all" and which not in MODULES:
        raise SystemExit(f"unknown benchmark {which!r}; choose from {', '.join(MODULES)} or all")
    for name in MODULES if which == "all" else [which]:
        _run(name, rest)


if __name__ == "__main__":
    main(sys.argv[1:])

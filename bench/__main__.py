"""Run every benchmark: `python -m bench` (or `make bench`).

Each `bench/bench_*.py` module has a `main()` that prints its comparisons.
Pass names to run a subset: `python -m bench bus detumble`.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys

import bench
from bench.common import machine


def main(argv: list[str]) -> int:
    modules = pkgutil.iter_modules(bench.__path__)
    names = sorted(m.name for m in modules if m.name.startswith("bench_"))
    wanted = [n for n in names if not argv or n.removeprefix("bench_") in argv]
    print(f"# {machine()}")
    for name in wanted:
        print(f"\n## {name}")
        importlib.import_module(f"bench.{name}").main()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

"""Shared helpers for benchmarks: timing and the side-by-side report line.

Every benchmark measures Tessera and its peer in the same process run, on the
same input, and prints both figures and their ratio through `compare`, so
that `docs/performance.md` can quote one run. Machines here are noisy: use the
median of several repeats and compare only figures from one run.
"""

from __future__ import annotations

import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Comparison:
    """One benchmark line: Tessera's figure, the peer's, and how they compare."""

    title: str
    unit: str
    tessera: float
    peer_name: str
    peer: float
    higher_is_better: bool = True

    @property
    def ratio(self) -> float:
        """How many times better Tessera is (>1 means Tessera wins)."""
        if self.higher_is_better:
            return self.tessera / self.peer if self.peer else float("inf")
        return self.peer / self.tessera if self.tessera else float("inf")

    def line(self) -> str:
        return (
            f"{self.title:<46} tessera {self.tessera:>14,.1f} {self.unit:<14}"
            f" {self.peer_name} {self.peer:>14,.1f}   ratio {self.ratio:6.2f}x"
        )


def compare(title: str, unit: str, tessera: float, peer_name: str, peer: float,
            higher_is_better: bool = True) -> Comparison:
    """Print and return one side-by-side result."""
    result = Comparison(title, unit, tessera, peer_name, peer, higher_is_better)
    print(result.line(), flush=True)
    return result


def median_seconds(fn: Callable[[], object], repeat: int = 5) -> float:
    """Median wall time of `repeat` calls of fn, in seconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def rate_per_s(fn: Callable[[], object], items: int, repeat: int = 5) -> float:
    """Items per second, from the median time of fn processing `items` items."""
    return items / median_seconds(fn, repeat)


def machine() -> str:
    """One line naming the machine a result came from."""
    import os

    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"

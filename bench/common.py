"""The one harness every benchmark uses: time Tessera and its peer fairly.

A comparison runs both sides in the same process on the same input:

    result = paired(tessera_fn, peer_fn, items=N)
    report("Space Packet encode+decode", result, "spacepackets", unit="packets/s")

What `paired` does, the same for both sides:

- warm-up: each side is called `warmup` times (default 1) before any timing,
  so imports, caches, lazily built tables and the allocator's pools are ready;
- rounds: `rounds` (default 7) rounds, each timing one call of each side
  back to back; the side that goes first alternates from round to round, so
  a change in machine load (the machines are shared) hits both alike;
- garbage collection: before every timed call `gc.collect()` runs, and the
  collector is disabled during the call and restored after it
  (`GC_POLICY`), so neither side pays for the other's garbage, nor for a
  collection that happens to fall in its time; `gc_enabled=True` keeps the
  collector running during both sides' calls instead (for long runs that
  make cyclic garbage), still after a `gc.collect()`;
- statistics: the median time per side, its spread (min-max over the
  rounds), and the ratio of the medians with the min-max of the per-round
  ratios (each round's two calls ran back to back under the same load).

A side whose work is timed elsewhere (a C timing loop, a scenario's own
clock) passes `self_timed=True`: its function returns the seconds to count.

`versions("numpy", "spacepackets")` gives the installed versions of the
libraries a benchmark compares, for its heading; `heading(...)` prints that
line with the harness settings. `compare` prints one line for figures that do
not come from `paired` (an aim, a one-sided measurement).
"""

from __future__ import annotations

import gc
import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata

WARMUP = 1
ROUNDS = 7
GC_POLICY = "gc.collect() before each timed call, collector disabled during it"
GC_POLICY_ENABLED = "gc.collect() before each timed call, collector enabled during it"


# --- timing ------------------------------------------------------------------

def _timed_call(fn: Callable[[], object], *, gc_enabled: bool, self_timed: bool,
                inner: int = 1) -> float:
    """Seconds for `inner` calls of fn, garbage collection handled per the policy."""
    gc.collect()
    was_enabled = gc.isenabled()
    if not gc_enabled:
        gc.disable()
    total = 0.0
    try:
        for _ in range(inner):
            start = time.perf_counter()
            out = fn()
            elapsed = time.perf_counter() - start
            if self_timed:
                if not isinstance(out, (int, float)) or out <= 0:
                    raise ValueError(f"a self-timed side must return its seconds, got {out!r}")
                elapsed = float(out)
            total += elapsed
            del out  # what a call keeps is freed before the next call, as between rounds
    finally:
        if was_enabled:
            gc.enable()
    return total


@dataclass(frozen=True)
class Timing:
    """Seconds per call of one side over the rounds, and how many items a call does."""

    samples: tuple[float, ...]
    items: int = 1

    @property
    def median(self) -> float:
        """Median seconds per call."""
        return statistics.median(self.samples)

    @property
    def rate(self) -> float:
        """Items per second at the median time."""
        return self.items / self.median

    @property
    def rate_range(self) -> tuple[float, float]:
        """Slowest and fastest items per second over the rounds."""
        return self.items / max(self.samples), self.items / min(self.samples)

    @property
    def per_item(self) -> float:
        """Median seconds per item."""
        return self.median / self.items

    @property
    def per_item_range(self) -> tuple[float, float]:
        """Fastest and slowest seconds per item over the rounds."""
        return min(self.samples) / self.items, max(self.samples) / self.items


@dataclass(frozen=True)
class Paired:
    """Both sides of one comparison, timed alternately."""

    tessera: Timing
    peer: Timing

    @property
    def round_ratios(self) -> tuple[float, ...]:
        """Per round, how many times faster Tessera was (per item; >1: Tessera faster)."""
        return tuple((p / self.peer.items) / (t / self.tessera.items)
                     for t, p in zip(self.tessera.samples, self.peer.samples, strict=True))

    @property
    def ratio(self) -> float:
        """How many times faster Tessera is, from the median time per item of each side."""
        return self.peer.per_item / self.tessera.per_item

    @property
    def ratio_range(self) -> tuple[float, float]:
        r = self.round_ratios
        return min(r), max(r)


def measure(fn: Callable[[], object], *, items: int = 1, rounds: int = ROUNDS,
            warmup: int = WARMUP, gc_enabled: bool = False, self_timed: bool = False,
            inner: int = 1) -> Timing:
    """Time one side alone (against an aim, or a variant of Tessera), same policy as `paired`."""
    for _ in range(warmup):
        fn()
    return Timing(tuple(_timed_call(fn, gc_enabled=gc_enabled, self_timed=self_timed,
                                    inner=inner) for _ in range(rounds)), items * inner)


def paired(tessera: Callable[[], object], peer: Callable[[], object], *, items: int = 1,
           peer_items: int | None = None, rounds: int = ROUNDS, warmup: int = WARMUP,
           gc_enabled: bool = False, self_timed: bool = False, inner: int = 1) -> Paired:
    """Time Tessera and the peer alternately: warm-up, then `rounds` rounds of one call each.

    `items` is how many items (packets, messages, simulated seconds) one call
    handles; `peer_items` when the peer's call handles a different number.
    `inner` > 1 times that many calls back to back as one block per side and
    round (for calls of a few milliseconds, which one scheduler tick would
    swamp).
    """
    if rounds < 1:
        raise ValueError("at least one round")
    for _ in range(warmup):
        tessera()
        peer()
    ours: list[float] = []
    theirs: list[float] = []
    for r in range(rounds):
        order = ((tessera, ours), (peer, theirs))
        for fn, out in (order if r % 2 == 0 else order[::-1]):
            out.append(_timed_call(fn, gc_enabled=gc_enabled, self_timed=self_timed,
                                   inner=inner))
    return Paired(Timing(tuple(ours), items * inner),
                  Timing(tuple(theirs), (items if peer_items is None else peer_items) * inner))


# --- reporting -----------------------------------------------------------------

def _fmt(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def report(title: str, result: Paired, peer_name: str, *, unit: str = "items/s",
           per_item_scale: float | None = None) -> Paired:
    """Print one comparison: both figures with their spread, the ratio and its spread.

    Figures are rates (items/s) unless `per_item_scale` is given: then times
    per item, in seconds times that scale (1e9 for ns, 1e6 for us).
    """
    def side(t: Timing) -> str:
        if per_item_scale is None:
            lo, hi = t.rate_range
            return f"{_fmt(t.rate)} ({_fmt(lo)}-{_fmt(hi)})"
        lo, hi = t.per_item_range
        s = per_item_scale
        return f"{_fmt(t.per_item * s)} ({_fmt(lo * s)}-{_fmt(hi * s)})"

    lo, hi = result.ratio_range
    rounds = len(result.tessera.samples)
    print(f"{title} [{rounds} rounds]\n    tessera {side(result.tessera)} {unit}   {peer_name} "
          f"{side(result.peer)} {unit}   ratio {result.ratio:.2f}x ({lo:.2f}-{hi:.2f})",
          flush=True)
    return result


@dataclass(frozen=True)
class Comparison:
    """One figure against another (an aim, or a figure not measured by `paired`)."""

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
        return (f"{self.title}\n    tessera {_fmt(self.tessera)} {self.unit}   "
                f"{self.peer_name} {_fmt(self.peer)} {self.unit}   ratio {self.ratio:.2f}x")


def compare(title: str, unit: str, tessera: float, peer_name: str, peer: float,
            higher_is_better: bool = True) -> Comparison:
    """Print and return one line for figures not timed by `paired` (e.g. against an aim)."""
    result = Comparison(title, unit, tessera, peer_name, peer, higher_is_better)
    print(result.line(), flush=True)
    return result


def note(text: str) -> None:
    """Print an indented remark under the comparisons (a check, a difference in work)."""
    print(f"    - {text}", flush=True)


# --- context -------------------------------------------------------------------

def versions(*distributions: str) -> str:
    """'name version' for each installed distribution (and Python), for a heading."""
    parts = [f"Python {platform.python_version()}"]
    for name in distributions:
        try:
            parts.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            parts.append(f"{name} (not installed)")
    return ", ".join(parts)


def heading(*distributions: str, rounds: int | None = None, warmup: int = WARMUP,
            gc_enabled: bool = False) -> None:
    """Print the versions compared and the harness settings a benchmark module uses.

    `rounds` names the module's round count when all its figures share one;
    otherwise each `report` line gives its own.
    """
    print(f"# {versions(*distributions)}", flush=True)
    policy = GC_POLICY_ENABLED if gc_enabled else GC_POLICY
    count = f"{rounds} rounds" if rounds is not None else "rounds"
    print(f"# harness: {warmup} warm-up call(s) per side, then {count} alternating which "
          f"side goes first; median (min-max over the rounds); {policy}", flush=True)


def machine() -> str:
    """One line naming the machine a result came from, with its load (shared machines)."""
    try:
        one, five, fifteen = os.getloadavg()
        load = f", load {one:.1f} {five:.1f} {fifteen:.1f}"
    except OSError:
        load = ""
    return (f"{platform.machine()}, {os.cpu_count()} cores, Python "
            f"{platform.python_version()}{load}")


def median_seconds(fn: Callable[[], object], repeat: int = ROUNDS) -> float:
    """Median seconds of one side alone, with the harness's warm-up and gc policy."""
    return measure(fn, rounds=repeat).median


def rate_per_s(fn: Callable[[], object], items: int, repeat: int = ROUNDS) -> float:
    """Items per second of one side alone, at the median time (harness warm-up and gc policy)."""
    return measure(fn, items=items, rounds=repeat).rate

"""pytest plugin for mutation runs: quicker verdicts per mutant, same tests.

``python -m bench.mutants`` loads it (``-p bench.mutants_plugin``) into the
test runs mutmut makes for each mutant; ``make test`` never does. It changes
how long a verdict takes, not what a test asserts:

* Hypothesis property tests run under the ``mutants`` profile: at most
  ``TESSERA_MUTANT_EXAMPLES`` examples each (default 10; a test that asks for
  fewer keeps its own count), derandomized so that a verdict is the same on
  every run, with no example database (workers do not share one) and no
  deadline. A fault in a codec or state machine usually breaks the first few
  examples; the ones it does not break are re-run by ``bench.mutants`` with
  ``TESSERA_MUTANT_EXAMPLES=full`` (each test's own count, random as in
  ``make test``) before they are called survivors. That recheck runs only
  the property tests: the others do not depend on the profile and have
  passed already. The property tests seen are listed in
  ``hypothesis-tests.json`` beside the run, for ``bench.mutants`` to pick the
  survivors worth a recheck.
* The covering tests run cheapest verdict first: a test's seconds (from
  mutmut's own clean run) over its chance to fail on the mutant, estimated
  from how often it failed on the other mutants of the same function
  (``killers.json`` beside the run). With ``-x`` a mutant the first test
  catches never waits for the others: a cheap test that judges a function
  well runs before slow ones, and before quick ones that never catch its
  faults. The order changes how soon a verdict comes, never what it is: a
  mutant survives only when every covering test passes, in any order.
  mutmut times only a test's call, not its fixtures' setup, so the plugin
  records the setups of the clean run (``setup-durations.json``)
  and charges a test the costliest setup in its file: a module fixture's
  cost falls on whichever of the file's tests runs first (the hostile
  apps' eight-second flight would otherwise look free and run first).
* A test that ``bench.mutants`` names as judging only some modules (the
  area's ``focus``, passed in ``TESSERA_MUTANT_FOCUS``) runs only for the
  mutants of those modules.
* The compiled build (mypyc) of the listed modules never runs: mutants live
  in the Python source, and a compiled module would stand in for its
  mutated source and let every mutant in it pass. If it would run, the
  session stops before any test, so mutmut's clean run fails and no
  verdict is taken.
* A test file whose module fixture does the work its tests judge (the area's
  ``whole_files``, passed in ``TESSERA_MUTANT_WHOLE_FILES``) runs whole for a
  mutant any of its tests covers: mutmut credits the code a module fixture
  ran to the file's first test only, and that test alone judges little.
* A test that runs ten times longer than it did on the clean code (at least
  30 s) is stopped and fails: the mutant made it hang, which a user notices
  as surely as a wrong answer. (mutmut's own limit, on CPU time, misses a
  hang that sleeps or waits on a pipe.)
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import settings

# The run's state mutmut keeps beside the mutated copy (pytest runs in it).
_STATS = Path("mutmut-stats.json")
SETUP_DURATIONS = Path("setup-durations.json")
KILLERS = Path("killers.json")  # function -> {test id: [mutants run, failed on]}
# mutant -> the test that failed first on it (which verdicts rest on one slow test)
KILLED_BY = Path("killed-by.json")
PROPERTY_TESTS = Path("hypothesis-tests.json")
_EXAMPLES = os.environ.get("TESSERA_MUTANT_EXAMPLES", "10")
FULL = _EXAMPLES == "full"
# the recheck at full strength of mutants the capped run let through: only
# the property tests can change their verdict
RECHECK = os.environ.get("TESSERA_MUTANT_RECHECK") == "1"
CAP = 0 if FULL else int(_EXAMPLES)

# A test this many times slower than on the clean code (and at least this
# long) is taken to hang.
HANG_FACTOR = 10
HANG_MIN_S = 30.0

settings.register_profile("mutants", deadline=None, derandomize=True, database=None,
                          max_examples=CAP or settings.default.max_examples)


def _capped(current: settings) -> settings:
    """A test's own settings with the mutation run's example limit applied."""
    return settings(current, deadline=None, derandomize=True, database=None,
                    max_examples=min(current.max_examples, CAP))


def _is_property_test(item: pytest.Item) -> bool:
    return getattr(getattr(item, "obj", None), "is_hypothesis_test", False)


def _remember_property_tests(nodeids: list[str]) -> None:
    try:
        known = set(json.loads(PROPERTY_TESTS.read_text()))
    except (OSError, ValueError):
        known = set()
    if not known.issuperset(nodeids):
        tmp = PROPERTY_TESTS.with_suffix(f".{os.getpid()}")
        tmp.write_text(json.dumps(sorted(known.union(nodeids)), indent=1))
        tmp.replace(PROPERTY_TESTS)


def _focus(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leave out the tests that do not judge the module of the mutant under test."""
    mutant = os.environ.get("MUTANT_UNDER_TEST", "")
    if "__mutmut_" not in mutant:  # the clean run, the tracing: every test
        return
    focus = json.loads(os.environ.get("TESSERA_MUTANT_FOCUS") or "{}")
    others = [item for item in items if item.nodeid in focus
              and not mutant.startswith(tuple(focus[item.nodeid]))]
    if others:
        items[:] = [item for item in items if item not in others]
        config.hook.pytest_deselected(items=others)


def pytest_configure(config: pytest.Config) -> None:
    import hal._compiled  # decides, for every layer at once, which build runs

    if hal._compiled.running_compiled():
        raise pytest.UsageError("the compiled build would run in a mutation run: "
                                "set TESSERA_PURE_PYTHON=1 (bench.mutants does)")
    _whole_files(config)


def _whole_files(config: pytest.Config) -> None:
    """Take in every test of a `whole_files` file one of whose tests is asked for."""
    if "__mutmut_" not in os.environ.get("MUTANT_UNDER_TEST", ""):
        return
    whole = set(json.loads(os.environ.get("TESSERA_MUTANT_WHOLE_FILES") or "[]"))
    if whole:
        # read by pytest's collection, which comes after this hook
        args = [a.split("::", 1)[0] if a.split("::", 1)[0] in whole else a
                for a in config.args]
        config.args[:] = list(dict.fromkeys(args))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    _focus(config, items)
    if RECHECK:
        others = [item for item in items if not _is_property_test(item)]
        if others:
            items[:] = [item for item in items if _is_property_test(item)]
            config.hook.pytest_deselected(items=others)
    if not FULL:
        _remember_property_tests([item.nodeid for item in items if _is_property_test(item)])
        settings.load_profile("mutants")
        for item in items:
            test = getattr(item, "obj", None)
            if not getattr(test, "is_hypothesis_test", False):
                continue
            own = getattr(test, "_hypothesis_internal_use_settings", None)
            if own is not None:
                # read by Hypothesis each time the test is called, so the
                # decorator's own count (often hundreds) is capped too
                test._hypothesis_internal_use_settings = _capped(own)
            elif isinstance(getattr(item.cls, "settings", None), settings):
                # a state machine's TestCase carries its settings on the class
                item.cls.settings = _capped(item.cls.settings)
    try:
        durations = json.loads(_STATS.read_text())["duration_by_test"]
    except (OSError, ValueError, KeyError):
        return
    costs = _costs(durations)
    # mutmut names tests relative to the repository; pytest here sees them so too
    order = _order(items, costs)
    items.sort(key=lambda item: order[item.nodeid])
    for item in items:
        clean_s = costs.get(item.nodeid)
        # the recheck at full examples runs longer than the clean run did
        if clean_s is not None and not FULL:
            item.add_marker(pytest.mark.timeout(max(HANG_MIN_S, HANG_FACTOR * clean_s)))


def _function_under_test() -> str:
    """mutmut's name of the mutated function ('' outside a mutant's run)."""
    mutant = os.environ.get("MUTANT_UNDER_TEST", "")
    return mutant.rsplit("__mutmut_", 1)[0] if "__mutmut_" in mutant else ""


def _order(items: list[pytest.Item], costs: dict[str, float]) -> dict[str, tuple]:
    """Sort key of each test: its expected cost of a verdict, the seconds it takes
    over the chance that it fails on this function's next mutant (estimated from the
    other mutants of the function it ran for, one in two when it ran for none), so
    that a cheap test that catches this function's faults runs first. A file run
    whole (its module fixture does the work) is one unit with one key: split, its
    fixture would run once for each piece."""
    try:
        seen = json.loads(KILLERS.read_text()).get(_function_under_test(), {})
    except (OSError, ValueError):
        seen = {}
    whole = set(json.loads(os.environ.get("TESSERA_MUTANT_WHOLE_FILES") or "[]"))
    units: dict[str, list[pytest.Item]] = {}
    for item in items:
        path = item.nodeid.split("::", 1)[0]
        units.setdefault(path if path in whole else item.nodeid, []).append(item)
    order = {}
    for unit, members in units.items():
        runs = max(seen.get(i.nodeid, (0, 0))[0] for i in members)
        fails = min(runs, sum(seen.get(i.nodeid, (0, 0))[1] for i in members))
        chance = (fails + 1) / (runs + 2)  # Laplace's rule of succession
        cost = max(costs.get(i.nodeid, float("inf")) for i in members)
        for position, item in enumerate(members):
            order[item.nodeid] = (cost / chance, unit, position)
    return order


_seen: dict[str, list[int]] = {}  # this session's tests: [runs, failures]


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    # the clean run that mutmut times (its "stats" run): remember the setups too
    if report.when == "setup" and os.environ.get("MUTANT_UNDER_TEST") == "stats":
        _setups[report.nodeid] = report.duration
    if _function_under_test() and not RECHECK and (
            report.when == "call" or (report.when == "setup" and report.failed)):
        counts = _seen.setdefault(report.nodeid, [0, 0])
        counts[0] += 1
        counts[1] += report.failed


def _record_seen() -> None:
    """Add this session's runs and failures to those of the mutated function."""
    try:
        known = json.loads(KILLERS.read_text())
    except (OSError, ValueError):
        known = {}
    tests = known.setdefault(_function_under_test(), {})
    for nodeid, (runs, fails) in _seen.items():
        old = tests.get(nodeid, (0, 0))
        tests[nodeid] = (old[0] + runs, old[1] + fails)
    # two workers may write at once: one session's counts may be lost, the file stays whole
    tmp = KILLERS.with_suffix(f".{os.getpid()}")
    tmp.write_text(json.dumps(known, indent=1, sort_keys=True))
    tmp.replace(KILLERS)
    failed = [nodeid for nodeid, (_runs, fails) in _seen.items() if fails]
    if failed:
        try:
            killed = json.loads(KILLED_BY.read_text())
        except (OSError, ValueError):
            killed = {}
        killed[os.environ["MUTANT_UNDER_TEST"]] = failed[0]
        tmp = KILLED_BY.with_suffix(f".{os.getpid()}")
        tmp.write_text(json.dumps(killed, indent=1, sort_keys=True))
        tmp.replace(KILLED_BY)
    _seen.clear()


def _costs(call_s: dict[str, float]) -> dict[str, float]:
    """Seconds each test costs on the clean code: its call (mutmut's figure) and
    the costliest fixture setup in its file (a module fixture is paid by the
    file's first test to run, whichever that is)."""
    try:
        setup_s = json.loads(SETUP_DURATIONS.read_text())
    except (OSError, ValueError):
        setup_s = {}
    by_file: dict[str, float] = {}
    for nodeid, seconds in setup_s.items():
        path = nodeid.split("::", 1)[0]
        by_file[path] = max(by_file.get(path, 0.0), seconds)
    return {nodeid: seconds + by_file.get(nodeid.split("::", 1)[0], 0.0)
            for nodeid, seconds in call_s.items()}


_setups: dict[str, float] = {}




def pytest_sessionfinish(session: pytest.Session) -> None:
    if _seen:
        _record_seen()
    if not _setups:
        return
    try:
        known = json.loads(SETUP_DURATIONS.read_text())
    except (OSError, ValueError):
        known = {}
    known.update(_setups)
    tmp = SETUP_DURATIONS.with_suffix(f".{os.getpid()}")
    tmp.write_text(json.dumps(known, indent=1, sort_keys=True))
    tmp.replace(SETUP_DURATIONS)
    _setups.clear()

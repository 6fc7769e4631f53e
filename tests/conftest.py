"""How the suite is shared between workers when it runs on several cores.

`make test` runs pytest-xdist with `--dist loadfile` (docs/developing.md,
"Running the tests"). Two things make that both correct and quick:

- every test module is one group, so a module-scoped fixture (the quick
  mission, the SIL demonstration orbit, the C core built with sanitizers) is
  built once, by one worker; the web console's tests share one session
  fixture (a simulator and a console, two processes), so that folder is one
  group too;
- the modules that run for a minute or more are handed out first: a worker
  that picked up the quick mission last would leave the other core idle
  while it ran.

Without xdist (a plain `pytest`), the order and grouping stay pytest's own.

Hypothesis runs every property test without its per-example deadline and
without the "too slow" health check, in every folder and however the suite is
started: time is measured in bench/, never asserted in a test, and both only
turn a loaded machine (or a mutation run's tracer) into failures that say
nothing about the code.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("no-deadline", deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("no-deadline")

# Folders whose modules share a session fixture and so run in one worker.
SHARED_FOLDERS = ("tests/web/",)

# The longest groups, longest first (measured with `pytest --durations`; the
# list only orders work, so a stale entry costs a little time, never a result).
LONG_FIRST = (
    "tests/sim/test_mission.py",
    "tests/hil/test_bench_processes.py",
    "tests/sim/test_sil.py",
    "tests/gnc/test_adcs_closed_loop.py",
    "tests/web/",
    "tests/ground/test_two_processes.py",
    "tests/payload/test_ground_journey.py",
    "tests/c/test_c_units.py",
    "tests/ground/test_readme_session.py",
    "tests/payload/test_manifest.py",
    "tests/payload/test_partner_guide.py",
    "tests/hil/test_fuzz_target.py",
    "tests/sim/test_autonomy.py",
    "tests/protocol/test_space_link_fuzz_target.py",
    "tests/protocol/test_arsn_power_loss.py",
    "tests/payload/test_cli.py",
    "tests/payload/test_lifecycle.py",
)


def group_of(nodeid: str) -> str:
    """The work unit a test belongs to: its module, or its folder if that shares a fixture."""
    module = nodeid.split("::", 1)[0]
    for folder in SHARED_FOLDERS:
        if module.startswith(folder):
            return folder
    return module


def _rank(group: str) -> int:
    return LONG_FIRST.index(group) if group in LONG_FIRST else len(LONG_FIRST)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Every xdist worker sorts alike (the controller checks that the collections
    # match); a stable sort keeps each module's own order.
    if hasattr(config, "workerinput"):
        items.sort(key=lambda item: _rank(group_of(item.nodeid)))


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """`--dist loadfile`: one work unit per module (per folder in SHARED_FOLDERS)."""
    if config.getoption("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class ModuleScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return group_of(nodeid)

    # Hand the units out in collection order (LONG_FIRST), not by their number of tests.
    config.option.loadscopereorder = False
    return ModuleScheduling(config, log)

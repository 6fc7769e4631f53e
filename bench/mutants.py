"""Mutation testing of the flight software: `python -m bench.mutants` (or `make mutants`).

Each area (a package of flight code and the tests that exercise it) is
mutated by mutmut in a work folder of its own under ``out/mutants/work/``,
so areas never share state and an interrupted run resumes where it stopped.
mutmut runs, for every mutant, only the tests that executed the mutated
function, on as many worker processes as ``--jobs`` allows.

Each area writes ``out/mutants/<area>.txt``: the score, the counts by
status, and every mutant that survived with its diff. Mutants that cannot
change behaviour a user could notice are listed, with the reason, in
``docs/mutants-equivalent.md``; the report reads that list, marks them
``equivalent`` and leaves them out of the score.

    python -m bench.mutants                      # every area
    python -m bench.mutants fsw-core --jobs 1    # one area, one core
    python -m bench.mutants fsw-core --only fsw/core/bus.py
    python -m bench.mutants --report-only        # rewrite reports from the last run
"""

from __future__ import annotations

import argparse
import fnmatch
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "out" / "mutants"
EQUIVALENT_LIST = ROOT / "docs" / "mutants-equivalent.md"
# Packages a test may import: all of them are copied into the work folder so
# the mutated copy of a package shadows the original completely.
PACKAGES = ("fsw", "hal", "ground", "hil", "tessera")
# Files the tests read besides code (doc snippets run as tests, C sources).
ALSO_COPY = ("docs", "README.md", "bench", "csrc", "setup.py", "Makefile")


@dataclass(frozen=True)
class Area:
    """One unit of mutation: code to mutate and the tests that judge it."""

    name: str
    mutate: tuple[str, ...]  # glob patterns, relative to the repository
    tests: tuple[str, ...]  # pytest paths
    # Tests that run the code in a child process from the repository, where
    # no mutant can reach: they cost minutes and can kill nothing.
    ignore: tuple[str, ...] = ()
    # Files the pattern takes in that another area (with tests of its own) mutates.
    skip: tuple[str, ...] = ()
    # Slow tests that judge only some of the area's modules: test id -> the
    # dotted module prefixes whose mutants it runs for. A mutant elsewhere
    # never waits for it (mutmut would run it for every function it passes
    # through). The selection is made in each mutant's test run, not in
    # mutmut's settings, so earlier verdicts stay valid.
    focus: tuple[tuple[str, tuple[str, ...]], ...] = ()
    # Test files whose module fixture does the work (a flight its tests then
    # judge): mutmut's tracing credits the code the fixture ran to the file's
    # first test only, so a mutant there runs the whole file.
    whole_files: tuple[str, ...] = ()


_HOSTILE_TESTS = (
    "test_adcs_rate_group_keeps_its_deadline", "test_other_partner_is_undisturbed",
    "test_busy_loop_is_throttled_then_stopped", "test_memory_bomb_hits_its_address_space_limit",
    "test_fork_bomb_cannot_fork_and_is_disabled_as_a_crash_loop",
    "test_message_flood_is_throttled_then_stopped",
    "test_publishing_on_adcs_or_another_apps_ids_is_refused",
    "test_another_partners_files_cannot_be_read", "test_no_device_nodes", "test_no_sockets",
    "test_crashing_app_is_restarted_with_backoff_then_disabled",
    "test_every_action_is_in_the_audit_log", "test_high_severity_events_name_the_app")
_PAYLOAD_HOST_UNDER_ATTACK = tuple(
    f"fsw.apps.payload_host.app.xǁPayloadHostAppǁ{function}__mutmut_" for function in (
        "__init__", "execute", "_reap", "_sup", "_supervise", "_measure", "_publish",
        "_violation", "_handle", "_read", "_feed", "_send", "_flush", "_stop",
        "_finish_stops", "_close", "_audit", "_start", "stop"))

# Each area is judged by its own tests: a fault in the core must be caught by
# the core's tests, not only by an integration test two layers up. (It also
# keeps a run within minutes: mutmut reruns every covering test per mutant.)
AREAS = (
    Area("fsw-core", ("fsw/core/*",), ("tests/core",)),
    Area("fsw-protocol", ("fsw/protocol/*",), ("tests/protocol",),
         # the fuzz target runs in a child process from the repository
         ignore=("tests/protocol/test_space_link_fuzz_target.py",)),
    # The autonomy scenarios are the only tests that fly ADCS, EPS, FDIR and
    # the mode manager together (a stuck wheel, a dead magnetometer, a flat
    # battery, a lost contact), each in seconds.
    Area("fsw-apps", ("fsw/apps/*",), ("tests/apps", "tests/sim/test_autonomy.py"),
         # its real-time pty exchange cannot keep pace under the tracer
         ignore=("tests/apps/test_comms_link_cop.py::test_serial_link_over_a_pty",),
         skip=("fsw/apps/payload_host/*", "fsw/apps/audit/*", "fsw/apps/file_transfer/*"),
         # The flat battery flies ten simulated minutes (a third of the area's
         # test time) through every app, but judges the power chain only: the
         # EPS app that sheds loads, FDIR that safes, the mode manager. The
         # other apps have their own scenarios (a stuck wheel, a dead
         # magnetometer, a lost contact) and unit tests.
         focus=(("tests/sim/test_autonomy.py::"
                 "test_low_battery_in_eclipse_safes_then_recovers_after_sunrise",
                 ("fsw.apps.eps.", "fsw.apps.fdir.", "fsw.apps.mode.")),)),
    # Apps whose tests live with the subsystem they serve: a focused selection each.
    Area("fsw-apps-payload", ("fsw/apps/payload_host/*", "fsw/apps/audit/*"), ("tests/payload",),
         # journeys through the `tessera` command: the host runs in a child
         # process from the repository, where no mutant reaches, for minutes
         ignore=("tests/payload/test_cli.py", "tests/payload/test_ground_journey.py",
                 "tests/payload/test_partner_guide.py",
                 "tests/payload/test_dictionary_apps.py"),
         # The hostile apps' real-clock flight (10 s, a third of the area's test
         # time) judges what only a hostile app brings out: crash loops and their
         # back-off, floods and spoofed ids, a busy loop's CPU, the bridge and
         # the cycle under that load, the host's flight defaults. Installing,
         # versions, storage, devices and subscriptions have their own tests.
         focus=tuple((f"tests/payload/test_hostile.py::{test}", _PAYLOAD_HOST_UNDER_ATTACK)
                     for test in _HOSTILE_TESTS),
         whole_files=("tests/payload/test_hostile.py", "tests/payload/test_storage_quota.py")),
    Area("fsw-apps-cfdp", ("fsw/apps/file_transfer/*",),
         ("tests/protocol/test_cfdp_transfer.py", "tests/apps/test_file_transfer.py")),
    Area("hal-devices", ("hal/devices/*",), ("tests/hal",)),
    Area("ground", ("ground/*",), ("tests/ground",)),
    Area("hil", ("hil/*",), ("tests/hil",)),
)

# mutmut's exit codes by meaning (mutmut.stats.status_by_exit_code).
_STATUS = {1: "killed", 3: "killed", 0: "survived", 5: "no tests", 33: "no tests",
           34: "skipped", 36: "timeout", 24: "timeout", -24: "timeout", 152: "timeout",
           255: "timeout", 37: "killed", -11: "segfault", -9: "segfault", None: "not checked"}
# A mutant counts as detected when the tests failed, hung or crashed on it.
_DETECTED = {"killed", "timeout", "segfault"}


def _has_code_and_tests(area: Area) -> bool:
    code = any(any(ROOT.glob(p.rstrip("*") + "**/*.py")) for p in area.mutate)
    tests = any((ROOT / t).exists() for t in area.tests)
    return code and tests


def _pyproject_for(area: Area, only: list[str]) -> str:
    """The repository's pyproject.toml with a [tool.mutmut] section for one area."""
    text = (ROOT / "pyproject.toml").read_text()
    text = re.sub(r"(?ms)^\[tool\.mutmut\].*?(?=^\[|\Z)", "", text)
    tests = [t for t in area.tests if (ROOT / t).exists()]
    # Short forms only: the slow soaks would dominate the run and add no kills.
    args = ["-p", "no:cacheprovider", "-m", "not slow", "-q", "-x"]
    args += [f"--deselect={t}" if "::" in t else f"--ignore={t}" for t in area.ignore]
    return text + (
        "\n[tool.mutmut]\n"
        f"source_paths = {json.dumps([p for p in PACKAGES if (ROOT / p).is_dir()])}\n"
        f"only_mutate = {json.dumps(only or list(area.mutate))}\n"
        f"do_not_mutate = {json.dumps(['*/__init__.py', *area.skip])}\n"
        f"also_copy = {json.dumps([p for p in ALSO_COPY if (ROOT / p).exists()])}\n"
        f"pytest_add_cli_args_test_selection = {json.dumps(tests)}\n"
        f"pytest_add_cli_args = {json.dumps(args)}\n"
        # mutmut stops a mutant's test run after (the tests' time on the clean
        # code + 10 s) x 3 of wall time (x 6 of CPU time). The 10 s cover
        # pytest's start in the worker, which the clean times leave out and a
        # loaded machine stretches; mutmut's default (+ 1 s, x 15) let one hang
        # cost minutes where the clean times are long.
        "timeout_multiplier = 3.0\n"
        "timeout_constant = 10.0\n"
    )


def _prepare(area: Area, only: list[str]) -> Path:
    """A work folder whose packages and tests link to the repository's."""
    work = OUT / "work" / area.name
    work.mkdir(parents=True, exist_ok=True)
    pyproject = _pyproject_for(area, only)
    scope = json.loads(re.search(r"only_mutate = (.*)", pyproject).group(1))
    if (work / "pyproject.toml").exists() and _mutated_patterns(work, area) != scope:
        _widen(work, scope)
    for name in (*PACKAGES, *ALSO_COPY, "tests"):
        link = work / name
        if (ROOT / name).exists() and not link.exists():
            link.symlink_to(ROOT / name)
    (work / "pyproject.toml").write_text(pyproject)
    _retrace_if_code_changed(work, scope)
    # Tests change as mutants are hunted down: take the current ones each run,
    # and the current plugin (mutmut copies a file outside the code only once).
    for name in ("tests", "docs", "bench"):
        shutil.rmtree(work / "mutants" / name, ignore_errors=True)
    # mutmut copies other files only when missing: drop them so the built C
    # extension and the data files are the current ones.
    for pkg in PACKAGES:
        for path in (work / "mutants" / pkg).rglob("*"):
            if path.is_file() and path.suffix not in (".py", ".meta", ".spans", ".pyc"):
                path.unlink()
    return work


def _retrace_if_code_changed(work: Path, scope: list[str]) -> None:
    """Trace every test again when the code in `scope` changed since the last
    full tracing.

    mutmut traces which tests run which function once, and afterwards only
    new tests: a function added or rewritten later keeps only the tests
    that reached its old form (or none), so its mutants are judged by a
    fraction of the tests that cover it and survive for nothing. The
    fingerprint of the code at the last full tracing is kept beside the run.
    """
    record = work / "traced-code.json"
    # mutmut's patterns: `*` spans folders (fnmatch), so `fsw/apps/*` takes in
    # every app's files, not only those directly in fsw/apps/
    files = sorted({str(p.relative_to(ROOT)) for pattern in scope
                    for p in ROOT.glob(pattern.split("*")[0].rpartition("/")[0] + "/**/*.py")
                    if fnmatch.fnmatch(str(p.relative_to(ROOT)), pattern)})
    now = {f: hashlib.sha256((ROOT / f).read_bytes()).hexdigest() for f in files}
    stats = work / "mutants" / "mutmut-stats.json"
    try:
        then = json.loads(record.read_text())
    except (OSError, ValueError):
        then = None
    if then != now:
        stats.unlink(missing_ok=True)
        record.write_text(json.dumps(now, indent=1))


def _widen(work: Path, scope: list[str]) -> None:
    """Make a new scope's files mutable again after a run with another scope.

    mutmut copies a file outside its scope unchanged, and later judges a copy
    newer than its source "unmodified" and keeps it: the file's mutants could
    never be switched on. It also keeps which tests run which function and
    traces only new tests again, so a function that had no trampoline then
    would read "no tests". Drop such copies with their results, and the
    tracing, so that mutmut builds both afresh.
    """
    for copy in (work / "mutants").rglob("*.py"):
        path = str(copy.relative_to(work / "mutants"))
        if any(fnmatch.fnmatch(path, p) for p in scope) and "mutmut" not in copy.read_text():
            copy.unlink()
            Path(f"{copy}.meta").unlink(missing_ok=True)
    (work / "mutants" / "mutmut-stats.json").unlink(missing_ok=True)


def _forget_undetected(work: Path) -> list[str]:
    """Mark every mutant the tests missed as unchecked, so new tests get their
    chance; returns the names of those that had been checked."""
    missed = []
    for meta in (work / "mutants").rglob("*.py.meta"):
        data = json.loads(meta.read_text())
        codes = data["exit_code_by_key"]
        for key, code in codes.items():
            if _STATUS.get(code, "suspicious") not in _DETECTED:
                if code is not None:
                    missed.append(key)
                codes[key] = None
        meta.write_text(json.dumps(data, indent=4))
    return missed


def _sample(work: Path, scope: list[str], every: int) -> list[str]:
    """Every `every`-th unchecked mutant of each file in `scope`, in source order,
    so a partial run still reaches every file (mutmut alone runs the mutants
    with the fastest tests first, which can leave whole files unchecked)."""
    names = []
    for meta in sorted((work / "mutants").rglob("*.py.meta")):
        path = str(meta.relative_to(work / "mutants"))[: -len(".meta")]
        if not any(fnmatch.fnmatch(path, p) for p in scope):
            continue
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        unchecked = [k for k, code in codes.items() if code is None]
        names += unchecked[::every]
    return names


def _survivors_with_property_tests(work: Path, scope: list[str]) -> list[str]:
    """Names of the mutants in `scope` whose tests all passed and that a
    Hypothesis property test covers (only those can change verdict at full
    strength; the plugin records which tests are property tests)."""
    try:
        covering = json.loads((work / "mutants" / "mutmut-stats.json").read_text())[
            "tests_by_mangled_function_name"]
        properties = set(json.loads((work / "mutants" / "hypothesis-tests.json").read_text()))
    except (OSError, ValueError, KeyError):
        return []
    names = []
    for meta in sorted((work / "mutants").rglob("*.py.meta")):
        path = str(meta.relative_to(work / "mutants"))[: -len(".meta")]
        if any(fnmatch.fnmatch(path, p) for p in scope):
            codes = json.loads(meta.read_text())["exit_code_by_key"]
            names += [k for k, code in codes.items() if _STATUS.get(code) == "survived"
                      and properties.intersection(covering.get(k.rsplit("__mutmut_", 1)[0], ()))]
    return names


def _mutmut(area: Area, work: Path, log: Path, jobs: int, names: list[str], examples: str,
             recheck: bool = False) -> int:
    """One `mutmut run` in `work` (all its unchecked mutants, or `names`);
    `recheck`: only the property tests, for mutants the others let through."""
    cmd = [sys.executable, "-m", "mutmut", "run", "--max-children", str(jobs), *names]
    # The plugin reaches mutmut's test runs through the environment, not
    # through pytest's arguments: mutmut would take changed arguments for
    # changed tests and throw every verdict of earlier runs away.
    # Mutants live in the Python source: never let the compiled HAL stand in for it.
    env = {**os.environ, "PYTEST_PLUGINS": "bench.mutants_plugin",
           "TESSERA_MUTANT_EXAMPLES": examples, "TESSERA_MUTANT_RECHECK": str(int(recheck)),
           "TESSERA_PURE_PYTHON": "1",
           "TESSERA_MUTANT_FOCUS": json.dumps(dict(area.focus)),
           "TESSERA_MUTANT_WHOLE_FILES": json.dumps(list(area.whole_files))}
    started = time.monotonic()
    with log.open("a") as out:
        status = subprocess.call(cmd, cwd=work, stdout=out, stderr=subprocess.STDOUT, env=env)
    print(f"{work.name}: mutmut ({len(names) or 'all unchecked'} mutants, examples {examples}) "
          f"finished with status {status} in {time.monotonic() - started:.0f} s "
          f"(log {log.relative_to(ROOT)})")
    return status


def run_area(area: Area, jobs: int, only: list[str], retest: bool = False,
             sample: int = 1, names: list[str] | None = None,
             examples: str = "10", recheck_only: bool = False) -> int:
    """Run mutmut over one area; returns mutmut's exit status.

    `names`: exactly these mutants, whatever their last verdict. With a cap
    on Hypothesis's examples (``examples`` other than "full"), the mutants
    that survive it are run again with every test's own count before the
    report calls them survivors; `recheck_only` does only that (after a run
    that was stopped before its end)."""
    work = _prepare(area, only)
    scope = only or list(area.mutate)
    missed = _forget_undetected(work) if retest else []
    log = OUT / f"{area.name}.log"
    log.write_text("")
    chosen = list(names or [])
    names = list(chosen)
    if not names and sample > 1:
        # with --retest: the last run's survivors again, and a further sample
        fresh = _sample(work, scope, sample)
        names = missed + [n for n in fresh if n not in set(missed)]
        if not names:
            print(f"{area.name}: no mutants to run")
            return 0
    status = 0 if recheck_only else _mutmut(area, work, log, jobs, names, examples)
    if examples != "full" and status == 0:
        survivors = [n for n in _survivors_with_property_tests(work, scope)
                     if not chosen or n in chosen]
        if survivors:
            status = _mutmut(area, work, log, jobs, survivors, "full", recheck=True)
    return status


@dataclass
class Mutant:
    key: str  # mutmut's name for it
    path: str  # source file, relative to the repository
    status: str
    diff: str = ""

    @property
    def function(self) -> str:
        """Dotted name of the mutated function: ``fsw.core.bus.SoftwareBus.publish``."""
        head = self.key.rsplit("__mutmut_", 1)[0]
        module, _, mangled = head.rpartition(".")
        if mangled.startswith("xǁ"):
            return ".".join([module, *mangled.split("ǁ")[1:]])
        return f"{module}.{mangled.removeprefix('x_')}"

    @property
    def change(self) -> str:
        """The mutated line(s) as they read after the mutation, for matching."""
        added = [ln[1:].strip() for ln in self.diff.splitlines()
                 if ln.startswith("+") and not ln.startswith("+++")]
        return " / ".join(added)


@dataclass
class Report:
    area: Area
    mutants: list[Mutant] = field(default_factory=list)
    scope: list[str] = field(default_factory=list)  # the files mutated, as patterns

    def count(self, *statuses: str) -> int:
        return sum(m.status in statuses for m in self.mutants)

    @property
    def score(self) -> float:
        """Detected / (all - equivalent - skipped), in percent."""
        judged = len(self.mutants) - self.count("equivalent", "skipped", "not checked")
        return 100.0 * self.count(*_DETECTED) / judged if judged else 100.0


def load_equivalents(path: Path = EQUIVALENT_LIST) -> dict[tuple[str, str], str]:
    """(function, mutated line) -> reason, from the table in docs/mutants-equivalent.md."""
    found: dict[tuple[str, str], str] = {}
    if not path.exists():
        return found
    for line in path.read_text().splitlines():
        # cells split at pipes not escaped (a mutated line may hold `int \| None`)
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip().strip("|"))]
        if len(cells) != 3 or not cells[0].startswith("`"):
            continue
        function, change, reason = (c.strip("`") for c in cells)
        found[(function, change.replace("\\|", "|"))] = reason
    return found


def _mutated_patterns(work: Path, area: Area) -> list[str]:
    """The file patterns the last run of an area mutated (its --only, if any)."""
    try:
        config = tomllib.loads((work / "pyproject.toml").read_text())
        return list(config["tool"]["mutmut"]["only_mutate"])
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return list(area.mutate)


def collect(area: Area) -> Report:
    """Read one area's results from its work folder."""
    from mutmut.mutation.diff_apply import get_diff_for_mutant

    report = Report(area)
    work = OUT / "work" / area.name
    report.scope = _mutated_patterns(work, area)
    equivalents = load_equivalents()
    old_cwd = os.getcwd()
    os.chdir(work)
    try:
        for meta in sorted(Path("mutants").rglob("*.py.meta")):
            path = str(meta.relative_to("mutants"))[: -len(".meta")]
            if (not any(fnmatch.fnmatch(path, p) for p in report.scope)
                    or any(fnmatch.fnmatch(path, p) for p in area.skip)):
                continue
            codes = json.loads(meta.read_text())["exit_code_by_key"]
            for key, code in codes.items():
                m = Mutant(key, path, _STATUS.get(code, "suspicious"))
                # unchecked mutants need no diff: the report lists only the checked
                if m.status not in _DETECTED and m.status != "not checked":
                    m.diff = get_diff_for_mutant(key, path=Path(path))
                    if (m.function, m.change) in equivalents:
                        m.status = "equivalent"
                report.mutants.append(m)
    finally:
        os.chdir(old_cwd)
    return report


def write_report(report: Report) -> Path:
    """out/mutants/<area>.txt: score, counts, and each undetected mutant's diff."""
    statuses = ("killed", "timeout", "segfault", "survived", "no tests", "suspicious",
                "equivalent", "skipped", "not checked")
    lines = [f"# Mutation report: {report.area.name}",
             f"mutated: {', '.join(report.scope or report.area.mutate)}",
             f"tests:   {', '.join(report.area.tests)}",
             f"score:   {report.score:.1f} % detected of {len(report.mutants)} mutants "
             "(equivalent ones left out)", ""]
    lines += [f"{s:>12}: {report.count(s)}" for s in statuses if report.count(s)]
    by_file: dict[str, list[Mutant]] = {}
    for m in report.mutants:
        by_file.setdefault(m.path, []).append(m)
    lines += ["", "## per file"]
    for path, ms in sorted(by_file.items()):
        sub = Report(report.area, ms)
        checked = len(ms) - sub.count("not checked")
        score = f"{sub.score:6.1f} %" if checked else "    -   "
        lines.append(f"{score}  {checked:4d} of {len(ms):4d} checked  {path}")
    for wanted in ("survived", "no tests", "suspicious", "equivalent"):
        left = [m for m in report.mutants if m.status == wanted]
        if not left:
            continue
        lines += ["", f"## {wanted}"]
        for m in left:
            lines += ["", f"### {m.key}", f"function: {m.function}", m.diff.rstrip()]
    path = OUT / f"{report.area.name}.txt"
    path.write_text("\n".join(lines) + "\n")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.mutants", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    names = ", ".join(a.name for a in AREAS)
    parser.add_argument("areas", nargs="*", metavar="AREA",
                        help=f"areas to mutate (default: every one of {names} that exists)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help="mutants tested at once (default: the number of cores)")
    parser.add_argument("--only", action="append", default=[], metavar="GLOB",
                        help="mutate only files matching GLOB within the area (repeatable)")
    parser.add_argument("--retest", action="store_true",
                        help="test again the mutants the last run missed (after adding tests)")
    parser.add_argument("--sample", type=int, default=1, metavar="N",
                        help="check only every N-th unchecked mutant of each file (a spread "
                        "sample when there is no time for all; the report says how many "
                        "were checked); with --retest, also the mutants the last run missed")
    parser.add_argument("--mutant", action="append", default=[], metavar="NAME",
                        help="check exactly this mutant, named as the report names it, "
                        "whatever its last verdict (repeatable; after writing its test)")
    parser.add_argument("--examples", default="10", metavar="N",
                        help="Hypothesis examples per property test at most (default 10, "
                        "derandomized); the survivors are then run again with each test's "
                        "own count. 'full': every test's own count from the start")
    parser.add_argument("--recheck", action="store_true",
                        help="only run the survivors a property test covers again at full "
                        "strength (what a run does at its end, if it was stopped before)")
    parser.add_argument("--report-only", action="store_true",
                        help="rewrite the reports from the last run without running mutmut")
    args = parser.parse_args(argv)
    known = {a.name: a for a in AREAS}
    unknown = [a for a in args.areas if a not in known]
    if unknown or args.jobs < 1 or args.sample < 1:
        parser.error(f"unknown area {unknown[0]!r}" if unknown
                     else "--jobs and --sample must be at least 1")
    if args.examples != "full" and not (args.examples.isdigit() and int(args.examples) >= 1):
        parser.error("--examples must be a whole number of at least 1 or 'full'")
    chosen = [known[a] for a in args.areas] or [a for a in AREAS if _has_code_and_tests(a)]
    OUT.mkdir(parents=True, exist_ok=True)
    for area in chosen:
        if not args.report_only:
            run_area(area, args.jobs, args.only, args.retest, args.sample, args.mutant,
                     args.examples, args.recheck)
        write_report(collect(area))
    # The summary covers every area run so far, not only this run's.
    summary = []
    for area in AREAS:
        if (OUT / "work" / area.name / "mutants").is_dir():
            report = collect(area)
            path = write_report(report)
            summary.append(f"{area.name:>14}: {report.score:5.1f} % of {len(report.mutants)} "
                           f"mutants detected, {report.count('survived', 'no tests')} left, "
                           f"{report.count('equivalent')} equivalent"
                           + (f", {report.count('not checked')} not yet checked"
                              if report.count("not checked") else "")
                           + f" ({path.relative_to(ROOT)})")
    print("\n".join(summary))
    (OUT / "summary.txt").write_text("\n".join(summary) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

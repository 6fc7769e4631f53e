"""The compiled modules (mypyc's build of hal/, fsw/ and ground/
compiled_modules.txt) fly the same run as their Python source, bit for bit,
and a stale build never runs."""

import json
import os
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import pytest

from hal import _compiled

ROOT = Path(__file__).resolve().parents[2]

# A child process: ten minutes of the reference SIL from the detumble release
# (every driver, emulator and sim bus of the register path in use, the
# executive, the software bus and the simulator), and a digest of every
# message on the bus and of the simulator's truth log. The executive's frames
# are not metered: it measures their work by the wall clock, and on a loaded
# machine an overrun (an event, then FDIR's SAFE) would make another flight.
FLIGHT = textwrap.dedent("""
    import hashlib, json, sys
    from hal import _compiled
    from ground.sim.sil import Scenario, build_sil

    run = build_sil(Scenario(seed=5))
    run.executive._work_time = lambda: 0.0
    run.executive.boot()
    bus = run.executive.bus
    pipe = bus.create_pipe("test.compiled", 1 << 20)
    for msg_id in bus.registered():
        bus.subscribe(pipe, msg_id)
    digest = hashlib.sha256()
    packets = 0
    for _ in range(60):
        run.executive.run(10.0)
        for msg_id, payload in pipe.drain():
            digest.update(msg_id.to_bytes(4, "big") + payload)
            packets += 1
    for name, column in sorted(run.simulator.log.arrays().items()):
        digest.update(name.encode() + column.tobytes())
    # Every app's command dictionary (codes, names, first lines of the
    # handlers' docstrings, layouts): a compiled method keeps no docstring.
    commands = {name: [[c.code, c.name, c.doc, c.critical, [f.name for f in c.args.fields]]
                       for c in sorted(app.COMMANDS.values(), key=lambda c: c.code)]
                for name, app in sorted(run.executive.apps.items())}
    import fsw.apps.adcs.app, fsw.core.bus, ground.sim.simulator, hal.sim.i2c
    files = [m.__file__ for m in (hal.sim.i2c, fsw.core.bus, ground.sim.simulator,
                                  fsw.apps.adcs.app)]
    print(json.dumps({"compiled": _compiled.running_compiled(), "packets": packets,
                      "digest": digest.hexdigest(), "files": files, "commands": commands}))
""")


def _fly(pure: bool) -> dict:
    env = {k: v for k, v in os.environ.items() if k != _compiled.PURE_ENV}
    if pure:
        env[_compiled.PURE_ENV] = "1"
    done = subprocess.run([sys.executable, "-c", FLIGHT], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def _build_expected() -> bool:
    """CI builds the compiled HAL from a clean checkout and must run it; a
    developer's tree may hold the source alone (no mypyc, or edited since)."""
    return bool(os.environ.get("CI")) or _compiled.running_compiled()


def test_compiled_and_source_builds_fly_the_same_run_bit_for_bit():
    source = _fly(pure=True)
    assert source["compiled"] is False
    assert all(path.endswith(".py") for path in source["files"])
    if not _build_expected():
        pytest.skip("the compiled modules are not built in this tree (or are older than "
                    "their source)")
    compiled = _fly(pure=False)
    assert compiled["compiled"] is True, "CI's build left the listed modules uncompiled"
    assert not any(path.endswith(".py") for path in compiled["files"])
    assert source["packets"] > 6000  # ADCS state at 10 Hz, housekeeping, device health
    assert compiled["digest"] == source["digest"]
    assert compiled["commands"] == source["commands"]
    assert all(doc for app in source["commands"].values() for _, _, doc, _, _ in app)
    assert compiled["packets"] == source["packets"]


@pytest.mark.parametrize("layer", _compiled.LAYERS)
@pytest.mark.parametrize("which", [0, -1])  # the first and the last listed (fsw/: an app)
def test_a_build_older_than_its_source_is_not_run(tmp_path, layer, which):
    """An edited module must run as edited: every listed module of every layer
    then loads from source, whichever layer and module the edit is in."""
    if not _compiled.running_compiled():
        pytest.skip("the compiled modules are not built in this tree")
    module = _compiled.layer_modules(layer)[which]
    # A copy of the package trees in which that one source is newer than the build.
    for package in _compiled.LAYERS:
        subprocess.run(["cp", "-a", str(ROOT / package), str(tmp_path / package)], check=True)
    # -S: without the editable install's finder, which would find this tree's packages
    # (and the installed libraries' directory as this process sees it: -S does not)
    probe = ("import sys; sys.path[:0] = sys.argv[1:3]; import hal._compiled as c, hal.sim.i2c, "
             "fsw.core.bus, ground.sim.simulator as s; "
             "print(c.running_compiled(), hal.sim.i2c.__file__, fsw.core.bus.__file__, "
             "s.__file__)")
    env = {k: v for k, v in os.environ.items() if k != _compiled.PURE_ENV}

    def loaded() -> list[str]:
        return subprocess.run([sys.executable, "-S", "-c", probe, str(tmp_path),
                               sysconfig.get_paths()["purelib"]], env=env,
                              capture_output=True, text=True, timeout=120,
                              check=True).stdout.split()

    assert loaded()[0] == "True"  # the copy as built runs compiled
    os.utime(tmp_path / module)
    assert loaded() == ["False", str(tmp_path / "hal" / "sim" / "i2c.py"),
                                   str(tmp_path / "fsw" / "core" / "bus.py"),
                                   str(tmp_path / "ground" / "sim" / "simulator.py")]

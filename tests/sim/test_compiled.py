"""The compiled HAL (mypyc's build of hal/compiled_modules.txt) flies the same
run as its Python source, bit for bit, and a stale build never runs."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from hal import _compiled

ROOT = Path(__file__).resolve().parents[2]

# A child process: ten minutes of the reference SIL from the detumble release
# (every driver, emulator and sim bus of the register path in use), and a
# digest of every ADCS_STATE packet, every device-health packet and the
# simulator's truth log.
FLIGHT = textwrap.dedent("""
    import hashlib, json, sys
    from hal import _compiled
    from fsw.apps.adcs import ADCS_STATE, DEVICE_HEALTH
    from ground.sim.sil import Scenario, build_sil

    run = build_sil(Scenario(seed=5))
    run.executive.boot()
    pipe = run.executive.bus.create_pipe("test.compiled", 8192)
    run.executive.bus.subscribe(pipe, ADCS_STATE.msg_id)
    run.executive.bus.subscribe(pipe, DEVICE_HEALTH.msg_id)
    digest = hashlib.sha256()
    packets = 0
    for _ in range(60):
        run.executive.run(10.0)
        for msg_id, payload in pipe.drain():
            digest.update(msg_id.to_bytes(4, "big") + payload)
            packets += 1
    for name, column in sorted(run.simulator.log.arrays().items()):
        digest.update(name.encode() + column.tobytes())
    import hal.sim.i2c
    print(json.dumps({"compiled": _compiled.running_compiled(), "packets": packets,
                      "digest": digest.hexdigest(), "i2c": hal.sim.i2c.__file__}))
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
    assert source["compiled"] is False and source["i2c"].endswith(".py")
    if not _build_expected():
        pytest.skip("the compiled HAL is not built in this tree (or is older than its source)")
    compiled = _fly(pure=False)
    assert compiled["compiled"] is True, "CI's build left the HAL uncompiled"
    assert not compiled["i2c"].endswith(".py")
    assert source["packets"] > 600  # ADCS state at 1 Hz or more, device health
    assert compiled["digest"] == source["digest"]
    assert compiled["packets"] == source["packets"]


def test_a_build_older_than_its_source_is_not_run(tmp_path):
    """An edited module must run as edited: the whole HAL then loads from source."""
    if not _compiled.running_compiled():
        pytest.skip("the compiled HAL is not built in this tree")
    module = _compiled.compiled_modules()[0]
    # A copy of the package tree whose one source is newer than the build.
    copy = tmp_path / "hal"
    subprocess.run(["cp", "-a", str(ROOT / "hal"), str(copy)], check=True)
    os.utime(copy.parent / module)
    # -S: without the editable install's finder, which would find this tree's hal
    probe = ("import sys, sysconfig; sys.path[:0] = [sys.argv[1], "
             "sysconfig.get_paths()['purelib']]; import hal._compiled as c, hal.sim.i2c as m; "
             "print(c.running_compiled(), m.__file__)")
    env = {k: v for k, v in os.environ.items() if k != _compiled.PURE_ENV}
    done = subprocess.run([sys.executable, "-S", "-c", probe, str(tmp_path)], env=env,
                          capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.split() == ["False", str(copy / "sim" / "i2c.py")]

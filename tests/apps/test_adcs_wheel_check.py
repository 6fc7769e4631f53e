"""The ADCS wheel check against a model written from its documentation.

fsw/apps/adcs/app.py and docs/autonomy.md: a wheel commanded to torque in one
direction long enough to change its speed by at least 1 rad/s (torque / wheel
inertia x time), whose measured speed moved by less than a quarter of that,
away from its speed limit (within 90 % of it), is declared failed. The check
spans the last 20 good cycles (two seconds at 10 Hz): the speed change from
the first to the last of those 20 measurements, under the 19 commands given
between them, all of one sign; it judges once 21 good cycles have been seen
since boot or since the operator's reset. A wheel declared failed stays so
until that reset.

The check is fed directly: each good cycle it is handed the speeds measured
and, as the app holds it, the torque commanded the cycle before. The model
below knows nothing of the app's run counters or window: it looks at the
whole history each time. Inertia 2^-16 kg m^2 and 8 Hz make every number in
play a short binary fraction, so the thresholds are met exactly where the
cases put them.
"""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from fsw.core import EVENT_MSG, Event
from fsw.core.executive import load_config
from ground.sim.sil import DEFAULT_FLIGHT_CONFIG, Scenario, build_sil

J_KGM2 = 2.0 ** -16
RATE_HZ = 8.0
MAX_SPEED_RAD_S = 10.0  # 90 %: 9 rad/s
UNIT_NM = 2.0 ** -18  # one unit of torque moves a free wheel 1/32 rad/s in a cycle
RESET = "reset"


def model(steps: list) -> list[int]:
    """The failed-wheel bits after each step, from the documented rule."""
    return judged(steps)[0]


def judged(steps: list) -> tuple[list[int], list[str]]:
    """The failed-wheel bits after each step and the events, from the documented rule."""
    history: list[tuple[list[float], list[float]]] = []
    failed = 0
    bits = []
    texts = []
    for step in steps:
        if step == RESET:
            history, failed = [], 0
            bits.append(failed)
            continue
        history.append(step)
        if len(history) >= 21:
            window = history[-20:]  # 20 speeds; the commands between them
            for i in range(4):
                if failed & (1 << i) or abs(window[-1][1][i]) > 0.9 * MAX_SPEED_RAD_S:
                    continue
                commands = [torques[i] for torques, _ in window[1:]]
                if not (all(c > 0 for c in commands) or all(c < 0 for c in commands)):
                    continue
                expected = sum(commands) / J_KGM2 / RATE_HZ
                if abs(expected) < 1.0:
                    continue
                moved = window[-1][1][i] - window[0][1][i]
                if abs(moved) < 0.25 * abs(expected):
                    failed |= 1 << i
                    texts.append(f"wheel {i + 1} failed: {moved:+.2f} rad/s under torque "
                                 f"that should give {expected:+.2f} rad/s")
        bits.append(failed)
    return bits, texts


def _boot(wheels: dict | None, rate_hz: float):
    """The ADCS app alone in the SIL, booted, and a pipe on its events."""
    cfg = load_config(DEFAULT_FLIGHT_CONFIG)
    cfg["apps"] = [a for a in cfg["apps"] if a["name"] == "adcs"]
    cfg["wiring"] = {"orbit_to": "adcs"}
    cfg["executive"]["rate_groups_hz"] = [rate_hz, 1]
    adcs = cfg["apps"][0]
    adcs["rate_hz"] = rate_hz
    adcs["config"]["rate_hz"] = rate_hz
    if wheels is None:
        del adcs["config"]["wheels"]
    else:
        adcs["config"]["wheels"] = dict(adcs["config"]["wheels"], **wheels)
    run = build_sil(Scenario(raan_deg=101.0, mean_anomaly_deg=300.0, sensor_noise=False,
                             w0_body_deg_s=(0.0, 0.0, 0.0)), cfg)
    assert run.executive.boot() == []
    events = run.executive.bus.create_pipe("test.wheel_events", 4096)
    run.executive.bus.subscribe(events, EVENT_MSG.msg_id)
    return run.executive.apps["adcs"], events


@pytest.fixture(scope="module")
def rig():
    return _boot({"inertia_kgm2": J_KGM2, "max_speed_rad_s": MAX_SPEED_RAD_S}, RATE_HZ)


def fly(rig, steps: list) -> tuple[list[int], list[str]]:
    """Hand `steps` to the app's check; its failed bits after each, and its events."""
    app, events = rig
    app.reset_wheel_check()
    events.drain()
    bits = []
    for step in steps:
        if step == RESET:
            app.reset_wheel_check()
        else:
            torques, speeds = step
            # New lists each cycle, as the app makes them: the check keeps them.
            app._torque_cmd = [float(t) for t in torques]
            app._check_wheels([float(s) for s in speeds])
        bits.append(app.wheels_failed)
    texts = [e.text for e in map(Event.decode, (p for _, p in events.drain()))
             if e.text.startswith("wheel ")]
    return bits, texts


def history(segments: list) -> list:
    """Steps from segments of (cycles, torque units per wheel, speed gained per
    unit of torque per wheel (1 a free wheel, 0 a stuck one), start speeds or
    None to go on from the last)."""
    steps: list = []
    speeds = [0.0] * 4
    for segment in segments:
        if segment == RESET:
            steps.append(RESET)
            continue
        cycles, units, gains, start = segment
        if start is not None:
            speeds = list(start)
        for _ in range(cycles):
            speeds = [s + g * u / 32.0 for s, g, u in zip(speeds, gains, units, strict=True)]
            steps.append(([u * UNIT_NM for u in units], list(speeds)))
    return steps


FREE = (1.0, 1.0, 1.0, 1.0)
# 19 cycles of 3 units: 57/32 = 1.78 rad/s expected, of 2 units: 1.19 rad/s: judged
STEADY = (3, -3, 2, -2)


def first_failed(bits: list[int]) -> int:
    return next(i for i, b in enumerate(bits) if b)


def test_a_stuck_wheel_is_declared_on_the_21st_good_cycle_not_before(rig):
    steps = history([(30, STEADY, (1.0, 0.0, 1.0, 1.0), None)])
    bits, texts = fly(rig, steps)
    assert bits == model(steps)
    assert first_failed(bits) == 20 and bits[-1] == 0b10
    assert texts == ["wheel 2 failed: +0.00 rad/s under torque that should give -1.78 rad/s"]


@pytest.mark.parametrize("pause", [(0, 0, 0, 0), (-3, 3, -2, 2)])
def test_a_command_of_no_or_the_other_sign_restarts_the_run(rig, pause):
    # every wheel stuck; a pause or a reversal, then 18 steady commands: not
    # judged (the window's 19 commands are not of one sign); the 19th is
    stuck = (0.0, 0.0, 0.0, 0.0)
    steps = history([(25, STEADY, FREE, None), (1, pause, stuck, None),
                     (18, STEADY, stuck, None), (1, STEADY, stuck, None)])
    bits, _ = fly(rig, steps)
    assert bits == model(steps)
    assert bits[-2] == 0 and bits[-1] == 0b1111


def test_a_wheel_seizing_while_it_turns_is_declared_when_the_window_sees_it():
    # free for 25 cycles, then stuck: declared once the last 20 speeds moved
    # by less than a quarter of what the 19 commands between them should give
    # (an app of its own: the window is sized when the app is made)
    rig = _boot({"inertia_kgm2": J_KGM2, "max_speed_rad_s": MAX_SPEED_RAD_S}, RATE_HZ)
    steps = history([(25, STEADY, FREE, None), (30, STEADY, (0.0, 1.0, 0.0, 1.0), None)])
    bits, texts = fly(rig, steps)
    assert bits == model(steps)
    assert first_failed(bits) == 25 + 14 and bits[-1] == 0b101
    assert texts == ["wheel 1 failed: +0.38 rad/s under torque that should give +1.78 rad/s",
                     "wheel 3 failed: +0.25 rad/s under torque that should give +1.19 rad/s"]


def test_a_wheel_near_its_speed_limit_is_not_judged_and_the_others_still_are(rig):
    # 90 % of 10 rad/s is 9 rad/s: at 9 exactly the wheel is judged, above it not
    start = (9.0625, -9.0, 0.0, 0.0)
    steps = history([(25, (3, -3, 2, -2), (0.0, 0.0, 0.0, 0.0), start)])
    bits, texts = fly(rig, steps)
    assert bits == model(steps)
    assert bits[-1] == 0b1110
    assert len(texts) == 3  # each failed wheel is declared once, however long it stays stuck


def test_exactly_one_rad_s_expected_is_judged_and_a_quarter_moved_passes(rig):
    # 13 commands of 2 units and 6 of 1: 32/32 = 1 rad/s expected, exactly
    units_a = [(2, 2, 2, 2)] * 13 + [(1, 1, 1, 1)] * 6
    # wheel 1 stuck, wheel 2 moves exactly a quarter, wheel 3 a bit less, wheel 4 free
    gains = (0.0, 0.25, 0.125, 1.0)
    steps = history([(2, (2, 2, 2, 2), gains, None)]
                    + [(1, u, gains, None) for u in units_a])
    bits, texts = fly(rig, steps)
    assert bits == model(steps)
    assert len(steps) == 21 and bits[-1] == 0b101
    assert texts == ["wheel 1 failed: +0.00 rad/s under torque that should give +1.00 rad/s",
                     "wheel 3 failed: +0.12 rad/s under torque that should give +1.00 rad/s"]


def test_the_expected_change_sums_the_commands_between_the_first_and_last_speed(rig):
    # commands that grow: 1 unit for 10 cycles, then 2, 3, 4 ... each
    # stuck wheel's expected change is the sum over the window's 19 commands
    ramp = [(min(k // 10 + 1, 4),) * 4 for k in range(40)]
    steps = history([(1, u, (0.0, 1.0, 0.25, 0.0), None) for u in ramp])
    bits, texts = fly(rig, steps)
    assert (bits, texts) == judged(steps)
    assert bits[-1] == 0b1001


def test_after_the_operators_reset_the_check_starts_afresh(rig):
    stuck = (0.0, 0.0, 0.0, 0.0)
    steps = history([(25, STEADY, stuck, None), RESET, (20, STEADY, stuck, None),
                     (1, STEADY, stuck, None)])
    bits, texts = fly(rig, steps)
    assert bits == model(steps)
    assert bits[24] == 0b1111 and bits[25] == 0 and bits[-2] == 0 and bits[-1] == 0b1111
    assert len(texts) == 8


segments = st.lists(st.one_of(
    st.just(RESET),
    st.tuples(st.integers(1, 25), st.tuples(*[st.sampled_from((-3, -2, -1, 0, 1, 2, 3))] * 4),
              st.tuples(*[st.sampled_from((0.0, 0.125, 0.25, 1.0))] * 4),
              st.one_of(st.none(), st.tuples(*[st.sampled_from(
                  (0.0, 8.9375, 9.0, -9.0, 9.0625, -9.0625))] * 4)))),
    min_size=1, max_size=8)


@settings(max_examples=150, deadline=None)
@given(segments)
@example([(25, STEADY, (1.0, 0.0, 0.25, 0.125), None), (3, (0, -3, 2, 0), FREE, None),
          (22, (3, 3, 3, 3), (0.0, 0.0, 0.0, 0.0), None)])
def test_the_check_agrees_with_its_documented_rule(rig, segments):
    steps = history(segments)
    assert fly(rig, steps) == judged(steps)


@pytest.fixture(scope="module")
def reference_rig():
    # no wheels section: the reference wheel, 1.5e-5 kg m^2, 628.3 rad/s (6000 rpm)
    return _boot(None, 10.0)


def test_without_a_wheels_section_the_check_uses_the_reference_wheel(reference_rig):
    app, events = reference_rig
    app.reset_wheel_check()
    events.drain()
    # 1e-5 N m for 19 cycles of 0.1 s on 1.5e-5 kg m^2: 1.27 rad/s expected;
    # wheel 1 stuck at 566 rad/s is within 90 % of 628.3 (565.5): not judged
    for _ in range(21):
        app._torque_cmd = [1e-5] * 4
        app._check_wheels([566.0, 0.0, 100.0, 565.0])
    assert app.wheels_failed == 0b1110
    texts = [e.text for e in map(Event.decode, (p for _, p in events.drain()))]
    assert "wheel 2 failed: +0.00 rad/s under torque that should give +1.27 rad/s" in texts

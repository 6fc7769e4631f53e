"""The sample app as the ground sees it: its output stream, its housekeeping
count (0.01 per count, 16 bits, as its declaration tells the ground) and its
two commands."""

from __future__ import annotations

import pytest

from fsw.apps.sample import SampleApp
from fsw.apps.sample.app import SAMPLE_OUTPUT
from fsw.core import (
    COMMAND_RESULT_MSG,
    AppSpec,
    Executive,
    VirtualClock,
    cmd_msg_id,
    encode_command,
)


def boot(**config):
    exe = Executive(VirtualClock(), rate_groups_hz=(10.0, 1.0))
    exe.add_app(AppSpec("sample", SampleApp, 10.0, config))
    assert exe.boot() == []
    pipes = {}
    for name, msg_id in (("out", SAMPLE_OUTPUT.msg_id), ("hk", SampleApp.HK.msg_id),
                         ("results", COMMAND_RESULT_MSG.msg_id)):
        pipes[name] = exe.bus.create_pipe(f"test.{name}", 256)
        exe.bus.subscribe(pipes[name], msg_id)
    return exe, pipes


def send(exe, rid, code, **args):
    exe.bus.publish(cmd_msg_id(SampleApp.APID),
                    encode_command(rid, code, SampleApp.COMMANDS[code].args, **args))


def last_hk(pipes):
    return SampleApp.HK.unpack(pipes["hk"].drain()[-1][1])


@pytest.mark.parametrize("value,gain,counts", [
    (1.5, 2.0, 300), (-0.25, 1.0, -25), (400.0, 100.0, 32767), (-400.0, 100.0, -32768)])
def test_the_output_is_input_times_gain_in_hundredths_saturated_to_16_bits(value, gain, counts):
    exe, pipes = boot(parameters={"gain": gain})
    send(exe, 1, 10, value=value)
    exe.run(1.05)
    outs = [SAMPLE_OUTPUT.unpack(p) for _, p in pipes["out"].drain()]
    assert [o["cycle"] for o in outs] == list(range(1, 12))
    assert outs[-1]["scaled_value"] == pytest.approx(value * gain, rel=1e-6)
    hk = last_hk(pipes)
    assert (hk["output_cnt"], hk["enabled"], hk["cycles"]) == (counts, True, 11)  # at 1.0 s
    assert hk["gain"] == pytest.approx(gain)


def test_the_start_event_tells_whether_the_output_is_on():
    exe, _ = boot()  # the output is on unless the configuration says otherwise
    assert exe.events.recent[0].text == "sample app initialised, output on"


def test_output_switched_off_and_on_and_refused_when_already_so():
    exe, pipes = boot(enabled=False)
    assert exe.events.recent[0].text == "sample app initialised, output off"
    send(exe, 1, 10, value=2.0)
    exe.run(1.05)
    assert pipes["out"].drain() == [] and last_hk(pipes)["output_cnt"] == 0
    send(exe, 2, 11, enabled=0)  # already off
    send(exe, 3, 11, enabled=1)
    exe.run(0.2)
    done = [(r["request_id"], r["ok"]) for r in
            (COMMAND_RESULT_MSG.unpack(p) for _, p in pipes["results"].drain())
            if r["stage"] == 7]
    assert done == [(1, True), (2, False), (3, True)]
    texts = [e.text for e in exe.events.recent]
    assert "output already in that state" in texts[-2] and texts[-1] == "output on"
    assert len(pipes["out"].drain()) == 2

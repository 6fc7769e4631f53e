"""Interleaved frames from the bus operator, both partners and an outsider,
against a model of who may command what: a TC runs exactly when its key
holder may command its target and its frame is fresh and in sequence; no
replay, forgery or foreign target ever runs; no FARM is ever locked out by
someone else; comms never stops."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from uplink_kit import OPERATOR, UNI_A, UNI_A_APID, UNI_B, UNI_B_APID, Link

from fsw.core import AppState
from fsw.core.ids import SAMPLE_APID
from fsw.protocol.tc import TcFrame

APPS = {SAMPLE_APID: "sample", UNI_A_APID: "uni_a", UNI_B_APID: "uni_b"}
MAY = {OPERATOR: set(APPS), UNI_A: {UNI_A_APID}, UNI_B: {UNI_B_APID}}

op = st.one_of(
    st.tuples(st.just("send"), st.sampled_from(sorted(MAY)), st.sampled_from(sorted(APPS))),
    st.tuples(st.just("replay"), st.integers(0, 10_000), st.none()),
    st.tuples(st.just("forge"), st.sampled_from(sorted(MAY)), st.integers(0, 255)),
    st.tuples(st.just("cycle"), st.none(), st.none()),
)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.lists(op, max_size=30))
def test_interleaved_key_holders_and_outsider(tmp_path_factory, ops):
    link = Link(tmp_path_factory.mktemp("model"))
    g = link.ground
    expected: dict[str, set[float]] = {name: set() for name in APPS.values()}
    recorded: list[bytes] = []
    value = 0.0
    for kind, a, b in ops:
        if kind == "send":
            value += 1.0
            raw = g.frame(g.set_input(b, value).encode(), a)
            recorded.append(raw)
            if b in MAY[a]:
                expected[APPS[b]].add(value)
            link.comms.receive_frame(raw)
        elif kind == "replay" and recorded:
            link.comms.receive_frame(recorded[a % len(recorded)])
        elif kind == "forge":
            vc = g.vc_of[a]
            body = a.to_bytes(2, "big") + os.urandom(4) + g.set_input(SAMPLE_APID, -1.0).encode()
            link.comms.receive_frame(TcFrame(0x2AB, vc, b, body + os.urandom(16),
                                             map_id=0).encode())
        link.exe.step()  # at most 10 TCs a second per key holder: under every quota
    for _ in range(3):
        link.exe.step()
    for name, values in expected.items():
        assert sorted(link.app(name).inputs) == sorted(values), name
        assert len(link.app(name).inputs) == len(set(link.app(name).inputs))  # each once
    assert not any(f.lockout for f in link.comms.rx.farms.values())
    assert link.comms.state == AppState.RUNNING
    link.operator_still_commands(-7.0)

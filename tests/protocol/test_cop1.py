"""COP-1 (CCSDS 232.1-B-2): FARM-1 state table, invariants, and FOP-1 with
FARM-1 over a lossy link."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fsw.protocol import CopError, FrameError, Reason
from fsw.protocol.cop1 import LOCKOUT, OPEN, WAIT, Farm1, Fop1, FopState
from fsw.protocol.tc import UNLOCK, set_vr


def judge(farm: Farm1, ns: int) -> Reason | None:
    try:
        farm.ad_frame(ns)
    except CopError as e:
        return e.reason
    return None


def test_farm_state_table():
    f = Farm1(0, window=10)  # PW = NW = 5
    f.vr = 100
    assert judge(f, 100) is None and f.vr == 101 and not f.retransmit  # E1
    assert judge(f, 103) == Reason.FARM_OUT_OF_WINDOW and f.retransmit  # E3
    assert judge(f, 101) is None and not f.retransmit
    assert judge(f, 100) == Reason.FARM_DUPLICATE  # E4
    assert judge(f, 102 - 5) == Reason.FARM_DUPLICATE  # NW edge
    assert judge(f, 102 + 4) == Reason.FARM_OUT_OF_WINDOW  # PW-1 edge
    assert f.state == OPEN
    assert judge(f, 102 + 5) == Reason.FARM_LOCKOUT  # E5
    assert f.state == LOCKOUT and f.clcw().lockout
    assert judge(f, 102) == Reason.FARM_LOCKOUT  # everything discarded in lockout
    f.control_command(set_vr(7))  # ignored in lockout, but counted
    assert f.vr == 102 and f.farm_b_counter == 1
    f.control_command(UNLOCK)
    assert f.state == OPEN and f.farm_b_counter == 2 and not f.clcw().lockout
    f.control_command(set_vr(7))
    assert f.vr == 7 and f.farm_b_counter == 3
    f.bd_frame()
    assert f.farm_b_counter == 0  # two bits, wraps


def test_farm_wait_when_no_buffer_and_wrap():
    f = Farm1(0, window=4)
    f.vr = 255
    assert judge(f, 255) is None and f.vr == 0  # 255 -> 0 wrap
    f.buffers = 0
    assert judge(f, 0) == Reason.FARM_NO_BUFFER  # E2
    assert f.state == WAIT and f.clcw().wait and f.clcw().retransmit
    f.buffers = 1
    assert judge(f, 0) == Reason.FARM_NO_BUFFER  # still waiting until release
    f.buffer_release()
    assert f.state == OPEN
    assert judge(f, 0) is None


def test_farm_window_must_be_even():
    for w in (0, 3, 256):
        with pytest.raises(FrameError):
            Farm1(0, window=w)


@pytest.mark.parametrize("window", [0, 1, 3, 253, 255, 256])
def test_a_farm_window_outside_the_standard_is_refused_in_words(window):
    """232.1-B-2: the FARM-1 sliding window width W is even, 2 <= W <= 254."""
    with pytest.raises(FrameError) as info:
        Farm1(0, window=window)
    assert info.value.reason == Reason.FIELD_RANGE
    assert str(info.value) == "field_range: FARM window must be even, 2..254"
    for w in (2, 254):
        assert Farm1(0, window=w).window == w


def test_a_fresh_farm_reports_a_clean_clcw():
    """A FARM-1 just started (V(R) = 0, Open, no flag set) reports the CLCW
    of 232.0-B-4 4.2.1: control word type 0, version 00, status 000, COP in
    effect 01, its VCID, No RF / No Bit Lock / Lockout / Wait / Retransmit 0,
    FARM-B counter 00, report value 0; for VC 3 that is 01 0C 00 00. Its
    saved state holds the same flags as JSON booleans."""
    farm = Farm1(3)
    assert farm.clcw().encode() == bytes.fromhex("010c0000")
    assert json.loads(json.dumps(farm.to_dict())) == {
        "vcid": 3, "window": 10, "state": "open", "vr": 0, "retransmit": False,
        "farm_b_counter": 0}


events = st.one_of(
    st.tuples(st.just("ad"), st.integers(0, 255)),
    st.tuples(st.just("near"), st.integers(-6, 6)),
    st.tuples(st.just("bd"), st.just(0)),
    st.tuples(st.just("unlock"), st.just(0)),
    st.tuples(st.just("setvr"), st.integers(0, 255)),
    st.tuples(st.just("buffers"), st.integers(0, 1)),
    st.tuples(st.just("release"), st.just(0)),
)


@given(st.sampled_from([2, 4, 10, 64, 254]), st.lists(events, max_size=200))
def test_farm_invariants(window, evs):
    f = Farm1(0, window=window)
    for kind, x in evs:
        before = (f.state, f.vr, f.farm_b_counter)
        if kind in ("ad", "near"):
            ns = x if kind == "ad" else (f.vr + x) & 0xFF
            r = judge(f, ns)
            if r is None:
                # accepted only in sequence, only when open
                assert before[0] == OPEN and ns == before[1]
                assert f.vr == (ns + 1) & 0xFF and not f.retransmit
            else:
                assert f.vr == before[1]
                if before[0] == LOCKOUT:
                    assert f.state == LOCKOUT
                ahead = (ns - before[1]) & 0xFF
                behind = (before[1] - ns) & 0xFF
                if before[0] != LOCKOUT and ahead > window // 2 - 1 and behind > window // 2:
                    assert f.state == LOCKOUT
            assert f.farm_b_counter == before[2]
        elif kind == "bd":
            f.bd_frame()
            assert (f.state, f.vr) == before[:2]
        elif kind == "unlock":
            f.control_command(UNLOCK)
            assert f.state == OPEN and f.vr == before[1] and not f.retransmit
        elif kind == "setvr":
            f.control_command(set_vr(x))
            assert f.vr == (before[1] if before[0] == LOCKOUT else x)
        elif kind == "buffers":
            f.buffers = x
        else:
            f.buffer_release()
            assert f.state != WAIT
        if kind in ("bd", "unlock", "setvr"):
            assert f.farm_b_counter == (before[2] + 1) & 3
        c = f.clcw()
        assert c.report_value == f.vr
        assert c.lockout == (f.state == LOCKOUT) and c.wait == (f.state == WAIT)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 40), seed=st.randoms(use_true_random=False),
       loss=st.sampled_from([0.0, 0.1, 0.3, 0.5]), window=st.sampled_from([2, 10, 64]))
def test_fop_and_farm_deliver_everything_once_in_order(n, seed, loss, window):
    """Over a link that drops frames and CLCWs, FOP-1 retransmits until FARM-1
    has accepted every frame data unit exactly once, in order."""
    farm = Farm1(0, window=window)
    fop = Fop1(0, build=lambda ns, data: (ns, data), window_k=min(window // 2, 8) or 1,
               t1_s=1.0, transmission_limit=10_000)
    fop.initiate()
    delivered: list[int] = []
    t = 0.0
    on_air = []
    for i in range(n):
        on_air += fop.transmit(i, t)
    for _step in range(2000):
        lossy = _step < 300
        for ns, data in on_air:
            if lossy and seed.random() < loss:
                continue
            if judge(farm, ns) is None:
                delivered.append(data)
        on_air = []
        if not (lossy and seed.random() < loss):
            on_air += fop.on_clcw(farm.clcw(), t)
        t += 0.5
        on_air += fop.on_timer(t)
        if len(delivered) == n and not fop.sent:
            break
    assert fop.alert is None
    assert delivered == list(range(n))
    assert not fop.sent and fop.state == FopState.ACTIVE


def test_fop_alerts_on_lockout_and_transmission_limit():
    fop = Fop1(0, build=lambda ns, d: (ns, d), t1_s=1, transmission_limit=2)
    fop.initiate()
    fop.transmit(b"x", 0.0)
    assert fop.on_timer(1.0) == [(0, b"x")]  # second transmission
    assert fop.on_timer(2.0) == []  # limit reached
    assert fop.alert == "transmission limit reached" and fop.state == FopState.INITIAL
    fop2 = Fop1(0, build=lambda ns, d: (ns, d))
    fop2.initiate()
    fop2.transmit(b"y")
    farm = Farm1(0)
    farm.state = LOCKOUT
    fop2.on_clcw(farm.clcw())
    assert fop2.alert == "lockout"


def test_fop_initiate_with_set_vr():
    farm = Farm1(0)
    fop = Fop1(0, build=lambda ns, d: (ns, d))
    bc = fop.initiate(vr=200, build_bc=lambda data: data)
    assert bc == [set_vr(200)]
    assert fop.transmit(b"a") == []  # not active until the CLCW confirms
    farm.control_command(bc[0])
    out = fop.on_clcw(farm.clcw())
    assert out == [(200, b"a")] and fop.state == FopState.ACTIVE


def test_farm_state_kept_across_a_reboot_and_bad_saved_state_refused():
    from fsw.protocol import FrameError, Reason
    from fsw.protocol.cop1 import Farm1

    saved = {"vcid": 3, "window": 12, "state": "lockout", "vr": 300, "retransmit": 1,
             "farm_b_counter": 6}
    farm = Farm1.from_dict(saved)
    # N(R) and the FARM-B counter are 8 and 2 bits wide (232.0-B-4 4.2.1)
    assert (farm.vcid, farm.window, farm.vr, farm.farm_b_counter) == (3, 12, 300 & 0xFF, 2)
    clcw = farm.clcw()
    assert (clcw.lockout, clcw.wait, clcw.retransmit, clcw.report_value) == (True, False, True, 44)
    assert Farm1.from_dict(farm.to_dict()).to_dict() == farm.to_dict() == {
        "vcid": 3, "window": 12, "state": "lockout", "vr": 44, "retransmit": True,
        "farm_b_counter": 2}
    for state in ("open", "wait"):
        assert Farm1.from_dict({**saved, "state": state}).state == state
    for bad in ({**saved, "state": "closed"}, {k: v for k, v in saved.items() if k != "vr"},
                {**saved, "vr": "x"}, {**saved, "window": 7}, {**saved, "vcid": None}):
        with pytest.raises(FrameError) as info:
            Farm1.from_dict(bad)
        assert info.value.reason == Reason.FIELD_RANGE


@given(st.integers(0, 255), st.sampled_from(["open", "wait", "lockout"]), st.booleans(),
       st.integers(0, 3))
def test_farm_state_round_trips_as_plain_data(vr, state, retransmit, b):
    farm = Farm1(3, 20)
    farm.vr, farm.state, farm.retransmit, farm.farm_b_counter = vr, state, retransmit, b
    again = Farm1.from_dict(json.loads(json.dumps(farm.to_dict())))
    assert again.to_dict() == farm.to_dict() and again.clcw() == farm.clcw()


def test_farm_state_that_cannot_be_is_refused():
    for bad in ({}, {"vcid": 1, "window": 3, "state": "open", "vr": 0, "retransmit": False,
                     "farm_b_counter": 0},
                {"vcid": 1, "window": 10, "state": "sleepy", "vr": 0, "retransmit": False,
                 "farm_b_counter": 0}):
        with pytest.raises(FrameError):
            Farm1.from_dict(bad)


# --- FOP-1 timing, transmission count and start-up (232.1-B-2 5.1, 5.2) ------

def _fop(**kw) -> Fop1:
    fop = Fop1(0, build=lambda ns, d: (ns, d), **kw)
    fop.initiate()
    return fop


def test_fop_t1_expires_after_t1_and_not_before():
    fop = _fop(t1_s=4.0)
    assert fop.transmit(b"a", 10.0) == [(0, b"a")]
    assert fop.on_timer(13.99) == []
    assert fop.on_timer(14.0) == [(0, b"a")]  # T1 ran out: every unacknowledged frame again
    assert fop.on_timer(17.99) == []  # the timer restarted with the retransmission
    assert fop.on_timer(18.0) == [(0, b"a")]
    # a frame queued at no given time counts from time zero
    fop = _fop(t1_s=4.0)
    fop.transmit(b"b")
    assert fop.on_timer(4.0) == [(0, b"b")]


def test_fop_transmission_limit_counts_the_first_transmission():
    # a limit of 3: the first transmission and two retransmissions, then the alert
    fop = _fop(t1_s=1.0, transmission_limit=3)
    fop.transmit(b"a", 0.0)
    assert fop.on_timer(1.0) == [(0, b"a")]
    assert fop.on_timer(2.0) == [(0, b"a")]
    assert fop.alert is None
    assert fop.on_timer(3.0) == []
    assert fop.alert == "transmission limit reached" and fop.state == FopState.INITIAL
    assert not fop.sent and not fop.wait_queue


def test_fop_timer_does_nothing_with_nothing_outstanding():
    fop = _fop(t1_s=1.0)
    assert fop.on_timer(100.0) == []
    farm = Farm1(0)
    farm.ad_frame(fop.transmit(b"a", 0.0)[0][0])
    assert fop.on_clcw(farm.clcw(), 0.5) == []
    assert not fop.sent and fop.on_timer(100.0) == []


def test_fop_waits_for_the_set_vr_to_show_in_the_clcw():
    farm = Farm1(0)
    fop = Fop1(0, build=lambda ns, d: (ns, d), t1_s=1.0)
    bc = fop.initiate(vr=200, now_s=5.0, build_bc=lambda data: data)
    assert bc == [set_vr(200)] and fop.state == FopState.INITIALISING_WITH_BC
    assert fop.transmit(b"a", 5.0) == []
    # a CLCW sent before the Set V(R) arrived (N(R) still 0) does not start the service
    assert fop.on_clcw(farm.clcw(), 5.5) == [] and fop.alert is None
    assert fop.state == FopState.INITIALISING_WITH_BC
    assert fop.on_timer(50.0) == []  # nothing sent yet, nothing to retransmit
    farm.control_command(bc[0])
    farm.retransmit = True  # the FARM still asks for a retransmission: not yet
    assert fop.on_clcw(farm.clcw(), 6.0) == []
    farm.retransmit = False
    farm.state = WAIT
    assert fop.on_clcw(farm.clcw(), 6.0) == []
    farm.state = OPEN
    assert fop.on_clcw(farm.clcw(), 6.0) == [(200, b"a")]
    assert fop.state == FopState.ACTIVE


def test_fop_clcw_of_another_vc_or_before_initiation_is_ignored():
    fop = Fop1(1, build=lambda ns, d: (ns, d))
    farm = Farm1(1)
    farm.state = LOCKOUT
    assert fop.on_clcw(farm.clcw()) == [] and fop.alert is None  # not initiated yet
    fop.initiate()
    assert fop.on_clcw(Farm1(0, 10).clcw()) == [] and fop.state == FopState.ACTIVE
    locked = Farm1(0)
    locked.state = LOCKOUT
    assert fop.on_clcw(locked.clcw()) == [] and fop.alert is None  # VC 0's lockout


def test_fop_acknowledged_frames_leave_the_sent_queue_and_restart_t1():
    fop = _fop(t1_s=2.0, window_k=3)
    farm = Farm1(0)
    frames = [fop.transmit(bytes([i]), 0.0) for i in range(5)]
    assert [f[0][0] for f in frames[:3]] == [0, 1, 2] and frames[3] == frames[4] == []
    farm.ad_frame(0)
    farm.ad_frame(1)
    # two acknowledged at t=1: two queued frames go out and T1 restarts then
    assert fop.on_clcw(farm.clcw(), 1.0) == [(3, b"\x03"), (4, b"\x04")]
    assert [s.frame for s in fop.sent] == [(2, b"\x02"), (3, b"\x03"), (4, b"\x04")]
    assert fop.on_timer(2.9) == []
    assert fop.on_timer(3.0) == [(2, b"\x02"), (3, b"\x03"), (4, b"\x04")]


def test_fop_retransmits_on_request_and_waits_when_told():
    fop = _fop()
    farm = Farm1(0)
    fop.transmit(b"a", 0.0)
    fop.transmit(b"b", 0.0)
    with pytest.raises(CopError):
        farm.ad_frame(1)  # frame 0 lost: the FARM asks for a retransmission (E3)
    assert fop.on_clcw(farm.clcw(), 1.0) == [(0, b"a"), (1, b"b")]
    assert fop.state == FopState.RETRANSMIT_WITHOUT_WAIT
    assert fop.on_clcw(farm.clcw(), 1.1) == []  # the same request again: already done
    farm.state = WAIT
    assert fop.on_clcw(farm.clcw(), 1.2) == []
    assert fop.state == FopState.RETRANSMIT_WITH_WAIT
    farm.state = OPEN
    farm.retransmit = False
    for ns in (0, 1):
        farm.ad_frame(ns)
    assert fop.on_clcw(farm.clcw(), 2.0) == [] and not fop.sent
    assert fop.state == FopState.ACTIVE


def test_fop_alerts_on_an_acknowledgement_of_frames_never_sent():
    fop = _fop()
    farm = Farm1(0)
    fop.transmit(b"a", 0.0)
    farm.vr = 5
    assert fop.on_clcw(farm.clcw(), 1.0) == []
    assert fop.alert == "N(R) outside the sent window" and fop.state == FopState.INITIAL


def test_saved_farm_state_refusals_name_the_problem():
    saved = {"vcid": 1, "window": 10, "state": "open", "vr": 0, "retransmit": False,
             "farm_b_counter": 0}
    for bad, words in (({**saved, "state": "sleepy"}, "saved FARM state: state 'sleepy'"),
                       ({k: v for k, v in saved.items() if k != "vr"}, "saved FARM state: 'vr'"),
                       ({**saved, "window": 3}, "FARM window must be even, 2..254")):
        with pytest.raises(FrameError) as err:
            Farm1.from_dict(bad)
        assert err.value.reason == Reason.FIELD_RANGE and words in str(err.value)


def test_fop_started_with_set_vr_retransmits_on_t1_and_counts_to_its_limit():
    farm = Farm1(0)
    fop = Fop1(0, build=lambda ns, d: (ns, d), t1_s=1.0, transmission_limit=2)
    farm.control_command(fop.initiate(vr=7, build_bc=lambda data: data)[0])
    fop.on_clcw(farm.clcw(), 0.0)
    assert fop.transmit(b"a", 0.0) == [(7, b"a")]
    assert fop.on_timer(1.0) == [(7, b"a")]  # the second transmission
    assert fop.on_timer(2.0) == [] and fop.alert == "transmission limit reached"


def test_farm_clcw_is_the_reference_word():
    # space-link reference: CLCW of VC 1, N(R) 8, Retransmit set -> 01 04 08 08
    farm = Farm1(1)
    for ns in range(8):
        farm.ad_frame(ns)
    with pytest.raises(CopError):
        farm.ad_frame(9)  # one ahead of V(R): discarded asking for a retransmission (E3)
    assert farm.clcw().encode().hex() == "01040808"
    farm.no_rf_available = farm.no_bit_lock = True
    assert farm.clcw().encode().hex() == "0104c808"


def test_farm_judges_without_acting():
    farm = Farm1(0, window=10)  # PW = NW = 5
    farm.vr = 10
    assert [farm.judge(ns) for ns in (10, 11, 14, 15, 9, 5, 4)] == [
        "accept", "retransmit", "retransmit", "lockout", "duplicate", "duplicate", "lockout"]
    farm.buffers = 0
    assert farm.judge(10) == "wait"
    farm.state = LOCKOUT
    assert farm.judge(10) == "locked" and farm.vr == 10


def test_the_clcw_after_each_directive_octet_by_octet():
    """232.0-B-4 4.2 CLCW: type 0 | version 00 | status 000 | COP in effect 01 |
    VCID (6) | spare 00 | No RF | No Bit Lock | Lockout | Wait | Retransmit |
    FARM-B counter (2) | spare | report value (8). A directive clears the
    Retransmit flag that an out-of-window frame raised (232.1-B-2, FARM-1)."""
    farm = Farm1(3)
    with pytest.raises(CopError):
        farm.ad_frame(2)  # ahead of V(R) 0: retransmit asked
    assert farm.clcw().encode() == bytes.fromhex("010c0800")
    farm.control_command(UNLOCK)
    assert farm.clcw().encode() == bytes.fromhex("010c0200")  # FARM-B 1
    with pytest.raises(CopError):
        farm.ad_frame(2)
    farm.control_command(set_vr(5))
    assert farm.clcw().encode() == bytes.fromhex("010c0405")  # FARM-B 2, N(R) 5


def test_farm_refusals_name_the_case_232_1_b_2_gives_them():
    """FARM-1 with a window of 10: PW = NW = 5 (232.1-B-2). Ahead within PW:
    discard and ask for retransmission (E3); behind within NW: a duplicate
    (E4); elsewhere: Lockout (E5); no buffer: Wait (E2)."""
    def refusal(farm, ns):
        with pytest.raises(CopError) as err:
            farm.ad_frame(ns)
        return str(err.value)

    farm = Farm1(0, window=10)
    for ns in range(20):
        farm.ad_frame(ns)
    assert refusal(farm, 22) == "farm_out_of_window: N(S) 22 ahead of V(R) 20"
    assert refusal(farm, 15) == "farm_duplicate: N(S) 15 already accepted"
    assert refusal(farm, 14) == "farm_lockout: N(S) 14 in lockout area of V(R) 20"
    assert refusal(farm, 20) == "farm_lockout: FARM is in lockout"
    farm = Farm1(0, window=10)
    farm.buffers = 0
    assert refusal(farm, 0) == "farm_no_buffer: no buffer free" and farm.wait


def test_fop_counts_transmissions_afresh_after_an_acknowledgement():
    """An acknowledgement restarts the count for the frames still outstanding:
    with a limit of 3 they get two more retransmissions before the alert, not
    one more, not three."""
    fop = _fop(t1_s=1.0, transmission_limit=3)
    farm = Farm1(0)
    first, second = fop.transmit(b"a", 0.0)[0], fop.transmit(b"b", 0.0)[0]
    assert fop.on_timer(1.0) == [first, second]  # the count is 2 now
    farm.ad_frame(0)
    assert fop.on_clcw(farm.clcw(), 1.5) == []  # "a" acknowledged; "b" outstanding
    assert fop.on_timer(2.5) == [second] and fop.on_timer(3.5) == [second]
    assert fop.alert is None
    assert fop.on_timer(4.5) == [] and fop.alert == "transmission limit reached"


def test_fop_reports_a_clcw_acknowledging_frames_never_sent():
    fop = _fop()
    farm = Farm1(0)
    for data in (b"a", b"b", b"c"):
        fop.transmit(data, 0.0)
    farm.ad_frame(0)
    assert fop.on_clcw(farm.clcw(), 1.0) == []  # N(R) 1: V(S) 3, one acknowledged
    for ns in (1, 2, 3):  # the FARM is told it has frame 3, which was never sent
        farm.ad_frame(ns)
    assert fop.on_clcw(farm.clcw(), 2.0) == []
    assert fop.alert == "N(R) outside the sent window" and fop.state == FopState.INITIAL


def test_fop_frames_released_by_the_set_vr_confirmation_start_t1():
    farm = Farm1(0)
    fop = Fop1(0, build=lambda ns, d: (ns, d), t1_s=1.0)
    bc = fop.initiate(vr=7, now_s=0.0, build_bc=lambda data: data)
    fop.transmit(b"a", 0.0)
    farm.control_command(bc[0])
    assert fop.on_clcw(farm.clcw(), 10.0) == [(7, b"a")]
    assert fop.on_timer(10.9) == [] and fop.on_timer(11.0) == [(7, b"a")]


def test_fop_times_from_0_when_the_caller_gives_no_time():
    fop = _fop(t1_s=1.0)
    farm = Farm1(0)
    fop.transmit(b"a")
    fop.transmit(b"b")
    farm.ad_frame(0)
    fop.on_clcw(farm.clcw())  # acknowledged at the default time, 0 s
    assert fop.on_timer(1.0) == [(1, b"b")]


def test_fop_timer_after_everything_was_acknowledged_never_alerts():
    fop = _fop(t1_s=1.0, transmission_limit=1)
    farm = Farm1(0)
    farm.ad_frame(fop.transmit(b"a", 0.0)[0][0])
    fop.on_clcw(farm.clcw(), 0.5)
    for t in (2.0, 3.0, 4.0):
        assert fop.on_timer(t) == []
    assert fop.alert is None and fop.state == FopState.ACTIVE


def test_the_frame_asked_for_clears_the_retransmit_flag():
    farm = Farm1(3)
    with pytest.raises(CopError):
        farm.ad_frame(1)  # ahead: retransmit asked (E3)
    farm.ad_frame(0)  # the frame it was waiting for: accepted, V(R) 1
    assert farm.clcw().encode() == bytes.fromhex("010c0001")

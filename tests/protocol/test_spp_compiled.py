"""The compiled Space Packet codec (mypyc's build of fsw/protocol/spp.py, listed
in fsw/compiled_modules.txt) gives the same results as its Python source on
generated and malformed input: the same bytes, the same fields, and the same
refusals (exception type, reason and message).

Two child processes serve the cases: one runs the Python source
(TESSERA_PURE_PYTHON=1), the other the compiled build. Each case is one call
of the codec's public API with values of the declared types (a value of
another type, `p.apid = 1.5`, is refused by the compiled build at the
assignment with TypeError and by the source build when the packet is
encoded); both answer with its result or its refusal.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fsw.protocol.spp import TC, TM, SpacePacket
from hal import _compiled

ROOT = Path(__file__).resolve().parents[2]

SERVER = textwrap.dedent("""
    import pickle, sys
    from hal import _compiled
    from fsw.protocol import ProtocolError, spp
    from fsw.protocol.cuc import CucTime

    def outcome(fn):
        try:
            return ("ok", fn())
        except ProtocolError as e:
            return ("refused", type(e).__name__, int(e.reason), str(e))

    def fields(p):
        return (type(p).__name__, isinstance(p, spp.SpacePacket), p.apid, p.packet_type,
                p.sec_hdr_flag, p.seq_flags, p.seq_count, p.data, type(p.data).__name__,
                p.packet_id, p.is_idle, repr(p), p.encode())

    BUFFERS = {"bytes": bytes, "bytearray": bytearray, "memoryview": memoryview}

    def bulk(buf):
        t = spp.decode_bulk(buf)
        r = spp.check_sequence(t)
        arrays = (t.offset, t.length, t.apid, t.packet_type, t.sec_hdr_flag, t.seq_flags,
                  t.seq_count)
        return ([a.tolist() for a in arrays], t.stride, r.apids.tolist(), r.gaps.tolist(),
                r.lost.tolist(), r.backwards.tolist(), r.ok)

    def run(case):
        op, args = case[0], case[1:]
        if op == "build":  # the six fields -> the packet's fields and its bytes
            return outcome(lambda: fields(spp.SpacePacket(*args)))
        if op == "set":  # a field written after construction, then encoded
            built, name, value = args
            p = spp.SpacePacket(*built)
            setattr(p, name, value)
            return outcome(lambda: fields(p))
        if op == "decode":
            raw, kind = args
            return outcome(lambda: fields(spp.SpacePacket.decode(BUFFERS[kind](raw))))
        if op == "decode_from":
            raw, offset = args
            return outcome(lambda: (lambda pe: (fields(pe[0]), pe[1]))(
                spp.SpacePacket.decode_from(raw, offset)))
        if op == "stream":
            return outcome(lambda: [fields(p) for p in spp.iter_packets(args[0])])
        if op == "length":
            return outcome(lambda: spp.packet_length(*args))
        if op == "bulk":
            return outcome(lambda: bulk(args[0]))
        if op == "idle":
            return outcome(lambda: fields(spp.idle_packet(*args)))
        if op == "timed":
            seconds, user, decode_raw = args
            def timed():
                p = spp.timed_packet(0x42, CucTime(seconds, 0), user, seq_count=7)
                if decode_raw is not None:
                    p = spp.SpacePacket.decode(decode_raw)
                t, rest = spp.split_timed(p)
                return fields(p), t.coarse, t.fine, rest
            return outcome(timed)
        raise ValueError(op)

    out = sys.stdout.buffer
    pickle.dump((_compiled.running_compiled(), spp.__file__), out)
    out.flush()
    while True:
        try:
            cases = pickle.load(sys.stdin.buffer)
        except EOFError:
            break
        pickle.dump([run(case) for case in cases], out)
        out.flush()
""")


class Build:
    """One child process running the codec from source or compiled."""

    def __init__(self, pure: bool) -> None:
        env = {k: v for k, v in os.environ.items() if k != _compiled.PURE_ENV}
        if pure:
            env[_compiled.PURE_ENV] = "1"
        self.proc = subprocess.Popen([sys.executable, "-c", SERVER], cwd=ROOT, env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.compiled, self.module_file = pickle.load(self.proc.stdout)

    def run(self, cases: list[tuple]) -> list:
        pickle.dump(cases, self.proc.stdin)
        self.proc.stdin.flush()
        return pickle.load(self.proc.stdout)

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=60)


def _build_expected() -> bool:
    """CI builds the compiled modules from a clean checkout and must run them;
    a developer's tree may hold the source alone (no mypyc, or edited since)."""
    return bool(os.environ.get("CI")) or _compiled.running_compiled()


@pytest.fixture(scope="module")
def builds():
    source = Build(pure=True)
    compiled = Build(pure=False)
    try:
        assert source.compiled is False and source.module_file.endswith("spp.py")
        if not _build_expected():
            pytest.skip("the compiled modules are not built in this tree "
                        "(or are older than their source)")
        assert compiled.compiled is True, "the build left the codec uncompiled"
        assert not compiled.module_file.endswith(".py")
        yield source, compiled
    finally:
        source.close()
        compiled.close()


def _same(builds, cases: list[tuple]) -> list:
    source, compiled = builds
    want = source.run(cases)
    got = compiled.run(cases)
    for case, a, b in zip(cases, want, got, strict=True):
        assert b == a, f"{case!r}: source {a!r}, compiled {b!r}"
    return want


# Fields in and out of their ranges (the constructor refuses those out).
apids = st.one_of(st.integers(0, 0x7FF), st.integers(-3, 0x802))
types = st.integers(-1, 2)
flags = st.integers(-1, 4)
counts = st.one_of(st.integers(0, 0x3FFF), st.integers(-2, 0x4002))
datas = st.one_of(st.binary(min_size=0, max_size=300), st.just(b"\x00" * 65537),
                  st.just(b"\x01" * 65536))
fields = st.tuples(apids, types, st.booleans(), flags, counts, datas)
good = st.tuples(st.integers(0, 0x7FF), st.sampled_from([TM, TC]), st.booleans(),
                 st.integers(0, 3), st.integers(0, 0x3FFF), st.binary(min_size=1, max_size=300))


def _encoded(f: tuple) -> bytes:
    return SpacePacket(*f).encode()


def _damaged(raw: bytes, data: st.DataObject) -> bytes:
    """A packet with one octet replaced, cut short, or with octets added."""
    how = data.draw(st.sampled_from(["octet", "cut", "grow"]))
    if how == "octet":
        i = data.draw(st.integers(0, len(raw) - 1))
        return raw[:i] + bytes([data.draw(st.integers(0, 255))]) + raw[i + 1:]
    if how == "cut":
        return raw[:data.draw(st.integers(0, len(raw) - 1))]
    return raw + data.draw(st.binary(min_size=1, max_size=8))


@st.composite
def cases(draw) -> tuple:
    data = draw(st.data())
    op = draw(st.sampled_from(["build", "set", "decode", "decode_from", "stream", "length",
                               "bulk", "idle", "timed"]))
    if op == "build":
        return ("build", *draw(fields))
    if op == "set":
        name = draw(st.sampled_from(["apid", "packet_type", "sec_hdr_flag", "seq_flags",
                                     "seq_count", "data"]))
        value = {"apid": apids, "packet_type": types, "sec_hdr_flag": st.booleans(),
                 "seq_flags": flags, "seq_count": counts, "data": datas}[name]
        return ("set", draw(good), name, draw(value))
    raw = draw(st.one_of(good.map(_encoded), good.map(_encoded).map(lambda r: _damaged(r, data)),
                         st.binary(max_size=40)))
    if op == "decode":
        return ("decode", raw, draw(st.sampled_from(["bytes", "bytearray", "memoryview"])))
    stream = raw + b"".join(_encoded(f) for f in draw(st.lists(good, max_size=4)))
    if op == "decode_from":
        return ("decode_from", stream, draw(st.integers(-2, len(stream) + 2)))
    if op == "stream":
        return ("stream", stream)
    if op == "length":
        return ("length", stream, draw(st.integers(0, len(stream) + 2)))
    if op == "bulk":
        same = draw(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 0x3FFF)),
                             min_size=1, max_size=20))
        fixed = b"".join(SpacePacket(a, TM, False, 3, c, b"abcd").encode() for a, c in same)
        return ("bulk", draw(st.sampled_from([stream, fixed, _damaged(fixed, data)])))
    if op == "idle":
        return ("idle", draw(st.one_of(st.integers(5, 300), st.just(65542), st.just(65543))),
                draw(st.integers(0, 0x3FFF)))
    user = draw(st.binary(max_size=20))
    return ("timed", draw(st.integers(0, 2**32 - 1)), user,
            draw(st.one_of(st.none(), st.just(raw))))


@settings(max_examples=100, deadline=None)
@given(st.lists(cases(), min_size=1, max_size=60))
def test_source_and_compiled_builds_agree_on_generated_input(builds, batch):
    _same(builds, batch)


def test_source_and_compiled_builds_refuse_malformed_packets_alike(builds):
    """Every cut of a packet, every value of its length field and of its
    version bits, and no octets at all: the same refusals, reason and text."""
    raw = SpacePacket(0x123, TC, True, 1, 0x2345, bytes(range(40))).encode()
    cases: list[tuple] = [("decode", b"", "bytes"), ("stream", b""), ("bulk", b"")]
    for n in range(len(raw) + 1):
        cases += [("decode", raw[:n], "bytes"), ("stream", raw[:n]), ("bulk", raw[:n])]
    for length in range(0, 0x10000, 97):
        lying = raw[:4] + length.to_bytes(2, "big") + raw[6:]
        cases += [("decode", lying, "memoryview"), ("stream", lying), ("bulk", lying)]
    for version in range(8):
        other = bytes([raw[0] & 0x1F | version << 5]) + raw[1:]
        cases += [("decode", other, "bytearray"), ("stream", other), ("bulk", other * 3)]
    results = _same(builds, cases)
    # every decode of bytes other than the packet itself is refused
    for case, result in zip(cases, results, strict=True):
        if case[0] == "decode":
            assert (result[0] == "ok") == (bytes(case[1]) == raw), case
            if result[0] == "refused":
                assert result[1] == "PacketError"


def test_both_builds_keep_the_codec_api(builds):
    """The golden vector of 133.0-B-2 4.1.3 through both builds, and a
    decoded packet is a SpacePacket in both."""
    case = ("decode", bytes.fromhex("0123c0050003deadbeef"), "bytes")
    [(status, result)] = _same(builds, [case])
    assert status == "ok"
    assert result[:9] == ("SpacePacket", True, 0x123, TM, False, 3, 5,
                          bytes.fromhex("deadbeef"), "bytes")

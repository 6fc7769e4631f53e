"""One security association end to end (CCSDS 355.0-B-2 authentication
service as docs/space-link.md describes it): the managed parameters' limits,
the MAC with an authentication bit mask computed here with the standard
library's HMAC, the ground's ARSN counter, the rekey PDU against the
RFC 3394 key wrap vector, and each refusal of the flight side's engine."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from fsw.protocol import Reason, SecurityError
from fsw.protocol.rights import Rights
from fsw.protocol.sdls import (
    SecurityAssociation,
    SecurityEngine,
    SecuritySender,
    build_rekey,
    compute_mac,
    parse_rekey,
)
from fsw.protocol.store import ArsnStore

KEY = bytes(range(32))
PARTNER = Rights.partner([0x100], vcids=(1,))


def sa(spi=10, rights=PARTNER, **kw) -> SecurityAssociation:
    return SecurityAssociation(spi, "uni-a", kw.pop("key", KEY), rights, **kw)


def refused(reason: Reason, words: str, call, *args, **kw):
    with pytest.raises(SecurityError) as err:
        call(*args, **kw)
    assert err.value.reason == reason
    # the whole refusal after the reason's name, as an operator reads it
    assert str(err.value).endswith(f": {words}"), str(err.value)


@pytest.mark.parametrize("kw, words", [
    ({"spi": 0}, "SPI 0 (0 and 0xFFFF are reserved)"),
    ({"spi": 0xFFFF}, "SPI 65535 (0 and 0xFFFF are reserved)"),
    ({"key": bytes(15)}, "SA 10: key shorter than 16 octets"),
    ({"arsn_len": 0}, "SA 10: ARSN length"),
    ({"arsn_len": 9}, "SA 10: ARSN length"),
    ({"mac_len": 7}, "SA 10: MAC length"),
    ({"mac_len": 33}, "SA 10: MAC length"),
    ({"arsn_window": 0}, "SA 10: ARSN window"),
    ({"arsn_window": 65537}, "SA 10: ARSN window"),
    ({"abm": bytes(5)}, "SA 10: ABM must be 6 octets"),
    ({"abm": bytes(7)}, "SA 10: ABM must be 6 octets"),
])
def test_managed_parameters_outside_their_limits_are_refused(kw, words):
    refused(Reason.KEY_FILE, words, sa, **kw)


def test_managed_parameters_at_their_limits_are_taken():
    for kw in ({"spi": 1}, {"spi": 0xFFFE}, {"key": bytes(16)}, {"arsn_len": 1},
               {"arsn_len": 8}, {"mac_len": 8}, {"mac_len": 32}, {"arsn_window": 1},
               {"arsn_window": 65536}):
        sa(**kw)
    assert sa(arsn_len=1).arsn_max == 255 and sa(arsn_len=8).arsn_max == 2**64 - 1
    assert sa(arsn_len=3, mac_len=10).overhead() == 2 + 3 + 10
    assert sa().may_command(0x100) and not sa().may_command(0x101)


def test_mac_covers_the_header_through_the_mask_and_everything_after_it():
    header = bytes.fromhex("22ab0413070a")  # primary header + segment header
    rest = bytes.fromhex("000a00000001") + b"frame data"
    abm = bytes.fromhex("ffff00ff0000")  # frame length and N(S) left out, for example
    masked = bytes(a & b for a, b in zip(header, abm, strict=True))
    expected = hmac.new(KEY, masked + rest, hashlib.sha256).digest()
    assert compute_mac(sa(abm=abm), header + rest, 6) == expected[:16]
    assert compute_mac(sa(abm=abm, mac_len=32), header + rest, 6) == expected
    # the masked-out bits do not count, the others do
    other = bytes.fromhex("22abff13ffff")
    assert compute_mac(sa(abm=abm), other + rest, 6) == expected[:16]
    assert compute_mac(sa(abm=abm), bytes.fromhex("23ab0413070a") + rest, 6) != expected[:16]
    # the default mask authenticates every header bit
    whole = hmac.new(KEY, header + rest, hashlib.sha256).digest()[:8]
    assert compute_mac(sa(mac_len=8), header + rest, 6) == whole


def test_the_ground_numbers_frames_from_one_and_stops_when_the_arsn_is_used_up(tmp_path):
    store = ArsnStore(tmp_path / "ground.db")
    tx = SecuritySender(sa(arsn_len=1, mac_len=8), store)
    header = bytes.fromhex("02ab041f00c0")
    first = tx.protect(header, b"data")
    assert first[:6] == header and first[6:8] == bytes.fromhex("000a") and first[8] == 1
    assert first[9:13] == b"data"
    assert first[13:] == hmac.new(KEY, first[:13], hashlib.sha256).digest()[:8]
    assert tx.protect(header, b"data")[8] == 2
    assert store.get(10)[0] == 2  # on disk before the frame leaves
    store.set_arsn(10, 254)
    assert tx.protect(header, b"")[8] == 255
    refused(Reason.ARSN_OUT_OF_WINDOW, "ARSN exhausted: rekey the SA", tx.protect, header, b"")
    tx.rekeyed(bytes(range(1, 33)), 4)
    assert tx.sa.key_generation == 4 and tx.sa.key == bytes(range(1, 33))
    assert tx.protect(header, b"")[8] == 1  # a new key counts from one again
    assert store.rekeyed() == {10: (4, b"")}  # the ground's counter file keeps no key


def test_rekey_pdu_wraps_the_key_by_rfc_3394():
    # RFC 3394 4.6: 256-bit key data wrapped with a 256-bit KEK
    kek = bytes.fromhex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
    key = bytes.fromhex("00112233445566778899aabbccddeeff000102030405060708090a0b0c0d0e0f")
    wrapped = bytes.fromhex("28c9f404c4b810f4cbccb35cfb87f8263f5786e2d80ed326"
                            "cbc7f0e71a99f43bfb988b9b7a02dd21")
    pdu = build_rekey(kek, 0x0102, 0x03040506, key)
    assert pdu == bytes.fromhex("01" "0102" "03040506") + wrapped
    assert parse_rekey(pdu) == (0x0102, 0x03040506, wrapped)
    refused(Reason.BAD_KEY, "new keys are 32 octets", build_rekey, kek, 1, 1, bytes(16))
    refused(Reason.LENGTH_MISMATCH, "rekey PDU of 46 octets", parse_rekey, pdu[:-1])
    refused(Reason.LENGTH_MISMATCH, "rekey PDU of 48 octets", parse_rekey, pdu + b"\0")
    refused(Reason.BAD_DIRECTIVE, "security PDU tag 2", parse_rekey, b"\x02" + pdu[1:])


def _engine(tmp_path, *sas, kek=KEY):
    return SecurityEngine(sas, ArsnStore(tmp_path / "flight.db"), kek)


def test_engine_refusals_name_what_is_wrong(tmp_path):
    op = SecurityAssociation(1, "operator", bytes(32), Rights.operator())
    off = sa(spi=12, operational=False)
    engine = _engine(tmp_path, op, sa(), off)
    header = bytes.fromhex("02ab041f00c0")

    def frame(spi, arsn, data=b"x", key=KEY, mac_len=16):
        body = header + spi.to_bytes(2, "big") + arsn.to_bytes(4, "big") + data
        return body + hmac.new(key, body, hashlib.sha256).digest()[:mac_len]

    refused(Reason.TRUNCATED, "no room for a security header", engine.verify, header + b"\0", 6,
            1)
    refused(Reason.UNKNOWN_SPI, "SPI 11", engine.verify, frame(11, 1), 6, 1)
    refused(Reason.SA_NOT_OPERATIONAL, "SPI 12", engine.verify, frame(12, 1), 6, 1)
    refused(Reason.SA_WRONG_VC, "SPI 10 is not used on VC 2", engine.verify, frame(10, 1), 6, 2)
    refused(Reason.TRUNCATED, "frame shorter than security header + MAC", engine.verify,
            frame(10, 1)[:6 + 2 + 4 + 15], 6, 1)
    refused(Reason.BAD_MAC, "SPI 10", engine.verify, frame(10, 1, key=bytes(32)), 6, 1)
    v = engine.verify(frame(10, 64), 6, 1)  # the window of 64 reaches from 0 to 64
    assert (v.arsn, v.data, v.fresh, v.sa.spi) == (64, b"x", True, 10)
    refused(Reason.ARSN_OUT_OF_WINDOW, "SPI 10: ARSN 65 beyond 0 + 64", engine.verify,
            frame(10, 65), 6, 1)
    engine.commit(engine.verify(frame(10, 5), 6, 1))
    assert engine.store.get(10)[0] == 5 and engine.last_accepted(10) == 5
    refused(Reason.REPLAY, "SPI 10: ARSN 5, last accepted 5", engine.verify, frame(10, 5), 6, 1)
    refused(Reason.REPLAY, "SPI 10: ARSN 4, last accepted 5", engine.verify, frame(10, 4), 6, 1)
    stale = engine.verify(frame(10, 5), 6, 1, stale_ok=True)
    assert not stale.fresh and stale.data == b""
    refused(Reason.REPLAY, "ARSN already used", engine.commit, stale)
    # a batch: held until flush, counted as accepted meanwhile, one commit
    engine.commit(engine.verify(frame(10, 6), 6, 1), durable=False)
    assert engine.last_accepted(10) == 6 and engine.store.get(10)[0] == 5
    refused(Reason.REPLAY, "ARSN 6, last accepted 6", engine.verify, frame(10, 6), 6, 1)
    engine.flush()
    assert engine.store.get(10)[0] == 6
    engine.commit(engine.verify(frame(10, 7), 6, 1))
    assert engine.store.get(10)[0] == 7 and engine.last_accepted(10) == 7


def test_engine_refuses_an_spi_twice(tmp_path):
    refused(Reason.KEY_FILE, "SPI 10 listed twice", _engine, tmp_path, sa(), sa())


def test_rekey_refusals(tmp_path):
    op = SecurityAssociation(1, "operator", bytes(32), Rights.operator())
    partner = sa()
    engine = _engine(tmp_path, op, partner)
    new = bytes(range(50, 82))
    refused(Reason.EP_WRONG_SA, "key management PDU on SA 10, not a management SA",
            engine.rekey, build_rekey(KEY, 10, 1, new), partner)
    refused(Reason.UNKNOWN_SPI, "rekey of SPI 11", engine.rekey, build_rekey(KEY, 11, 1, new), op)
    refused(Reason.BAD_KEY, "key generation 0 is not newer", engine.rekey,
            build_rekey(KEY, 10, 0, new), op)
    refused(Reason.BAD_KEY, "wrapped key does not unwrap", engine.rekey,
            build_rekey(bytes(32), 10, 1, new), op)
    assert engine.rekey(build_rekey(KEY, 10, 2, new), op) == 10
    assert partner.key == new and partner.key_generation == 2
    assert engine.store.get(10) == (0, 2)
    no_kek = SecurityEngine([op, sa()], ArsnStore(":memory:"), None)
    refused(Reason.BAD_KEY, "no key-encryption key configured", no_kek.rekey,
            build_rekey(KEY, 10, 1, new), op)


def test_a_rekeyed_key_is_taken_back_after_a_restart_only_if_newer(tmp_path):
    op = SecurityAssociation(1, "operator", bytes(32), Rights.operator())
    engine = _engine(tmp_path, op, sa())
    new = bytes(range(50, 82))
    engine.rekey(build_rekey(KEY, 10, 3, new), op)
    engine.store.close()
    again = _engine(tmp_path, SecurityAssociation(1, "operator", bytes(32), Rights.operator()),
                    sa())
    assert again.sas[10].key == new and again.sas[10].key_generation == 3
    again.store.close()
    # an SA already at that generation (a newer key file) keeps its own key
    newer = sa(key_generation=3)
    kept = _engine(tmp_path, newer)
    assert kept.sas[10].key == KEY
    kept.store.close()
    # and without the KEK nothing can be unwrapped: the key file's key stays
    assert _engine(tmp_path, sa(), kek=None).sas[10].key == KEY

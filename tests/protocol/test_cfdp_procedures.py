"""CFDP class 2 procedures (CCSDS 727.0-B-5 4.6) one PDU at a time: what
each end sends when, its timers to the instant, the byte budget, and the
outcomes a user reads in Finished (condition, delivery code, file status)."""

from __future__ import annotations

import json

import pytest

from fsw.protocol import cfdp
from fsw.protocol.cfdp import (
    Ack,
    Condition,
    DeliveryCode,
    Directive,
    Eof,
    FileData,
    FileStatus,
    Finished,
    Header,
    Metadata,
    Nak,
    TransactionStatus,
    decode_pdu,
    encode_pdu,
)
from fsw.protocol.cfdp_entity import MAX_FILE_BYTES, EntityConfig, Receiver, Sender

GROUND, CRAFT = 1, 2
DATA = bytes(range(256)) * 2  # 512 octets
CFG = EntityConfig(GROUND, segment_bytes=200, ack_timer_s=8.0, nak_timer_s=5.0, crc=False)
RX_CFG = EntityConfig(CRAFT, ack_timer_s=8.0, nak_timer_s=5.0, crc=False)


def kinds(raws):
    return [type(decode_pdu(r)).__name__ for r in raws]


def sender(**kw) -> Sender:
    return Sender(EntityConfig(GROUND, **{"segment_bytes": 200, "ack_timer_s": 8.0,
                                          "crc": False, **kw}),
                  CRAFT, 7, DATA, "src.bin", "dst.bin")


def back(h: Header) -> Header:
    return h.replace(toward_sender=True)


# --- the sending end ------------------------------------------------------------

def test_sender_sends_metadata_file_data_and_eof_then_repeats_eof_on_its_timer():
    s = sender()
    first = [decode_pdu(r) for r in s.poll(0.0, 10_000)]
    assert [type(p).__name__ for p in first] == ["Metadata", "FileData", "FileData",
                                                 "FileData", "Eof"]
    md = first[0]
    assert (md.file_size, md.source_name, md.dest_name, md.closure_requested) == (
        512, b"src.bin", b"dst.bin", True)
    assert [(p.offset, len(p.data)) for p in first[1:4]] == [(0, 200), (200, 200), (400, 112)]
    eof = first[4]
    assert (eof.file_size, eof.checksum) == (512, cfdp.modular_checksum(DATA))
    assert s.pdus_sent == 5 and s.octets_sent == sum(len(encode_pdu(p)) for p in first)
    assert s.poll(7.99, 10_000) == []
    assert kinds(s.poll(8.0, 10_000)) == ["Eof"]  # ack timer ran out
    assert s.poll(15.99, 10_000) == [] and kinds(s.poll(16.0, 10_000)) == ["Eof"]
    s.receive(encode_pdu(Ack(back(s.header), Directive.EOF)), 16.5)
    assert s.poll(100.0, 10_000) == [] and s.eof_sends == 3


def test_sender_stops_repeating_eof_at_the_ack_limit():
    s = sender(ack_limit=2)
    s.poll(0.0, 10_000)
    assert kinds(s.poll(8.0, 10_000)) == ["Eof"]
    assert s.poll(16.0, 10_000) == [] and s.poll(100.0, 10_000) == [] and s.eof_sends == 2


def test_sender_keeps_to_the_budget_and_carries_on_next_time():
    s = sender()
    md_len = len(encode_pdu(Metadata(s.header, 512, b"src.bin", b"dst.bin", True)))
    assert s.poll(0.0, md_len - 1) == [] and s.pdus_sent == 0
    assert kinds(s.poll(0.0, md_len)) == ["Metadata"]
    fd_len = len(encode_pdu(FileData(s.header, 0, DATA[:200])))
    assert kinds(s.poll(0.0, fd_len)) == ["FileData"] and s.next_offset == 200
    last = len(encode_pdu(FileData(s.header, 400, DATA[400:])))
    assert kinds(s.poll(0.0, fd_len + last)) == ["FileData", "FileData"]
    assert s.next_offset == 512
    eof_len = len(encode_pdu(Eof(s.header, 0, 512)))
    assert s.poll(0.0, eof_len - 1) == [] and s.eof_sent_at is None
    assert kinds(s.poll(1.0, eof_len)) == ["Eof"] and s.eof_sent_at == 1.0


def test_sender_resends_what_a_nak_lists_before_new_data():
    s = sender(segment_bytes=100)
    s.poll(0.0, 10_000)
    nak = Nak(back(s.header), 0, 512, ((0, 0), (50, 260), (600, 700), (300, 200), (70, 70)))
    s.receive(encode_pdu(nak), 1.0)
    s.receive(encode_pdu(nak), 1.0)  # the same NAK twice asks for nothing more
    out = [decode_pdu(r) for r in s.poll(1.0, 10_000)]
    # Metadata again (0-0), then 50-260 in segments of at most 100; 600-700 lies past
    # the end of the file, and 300-200 and 70-70 are no ranges: all three ignored
    assert [type(p).__name__ for p in out] == ["Metadata", "FileData", "FileData", "FileData"]
    assert [(p.offset, len(p.data)) for p in out[1:]] == [(50, 100), (150, 100), (250, 10)]
    assert out[3].data == DATA[250:260]
    assert s.state_dict() == {"next_offset": 512, "eof_acked": False, "resend": [],
                              "metadata_sent": True}


def test_a_resend_cut_by_the_budget_continues_where_it_stopped():
    s = sender(segment_bytes=100)
    s.poll(0.0, 10_000)
    s.receive(encode_pdu(Nak(back(s.header), 0, 512, ((0, 250),))), 1.0)
    one = len(encode_pdu(FileData(s.header, 0, DATA[:100])))
    assert [decode_pdu(r).offset for r in s.poll(1.0, one)] == [0]
    assert s.state_dict()["resend"] == [(100, 250)]
    assert [decode_pdu(r).offset for r in s.poll(1.0, 10_000)] == [100, 200]


def test_sender_ignores_pdus_of_other_transactions():
    s = sender()
    s.poll(0.0, 10_000)
    other = Header(GROUND, CRAFT, 8, toward_sender=True, crc=False)
    s.receive(encode_pdu(Ack(other, Directive.EOF)), 1.0)
    s.receive(encode_pdu(Finished(other)), 1.0)
    stranger = Header(3, CRAFT, 7, toward_sender=True, crc=False)
    s.receive(encode_pdu(Finished(stranger)), 1.0)
    assert not s.eof_acked and s.finished is None
    s.receive(encode_pdu(Ack(back(s.header), Directive.FINISHED)), 1.0)  # not an EOF ACK
    assert not s.eof_acked


def test_sender_acknowledges_finished_and_is_done():
    s = sender()
    s.poll(0.0, 10_000)
    s.receive(encode_pdu(Finished(back(s.header))), 2.0)
    assert s.delivered and not s.done
    out = s.poll(2.0, 10_000)
    ack = decode_pdu(out[0])
    assert len(out) == 1 and isinstance(ack, Ack)
    assert (ack.acked, ack.condition, ack.status) == (Directive.FINISHED, Condition.NO_ERROR,
                                                      TransactionStatus.TERMINATED)
    assert s.done and s.poll(50.0, 10_000) == []
    # no room for the ACK: it stays due
    s2 = sender()
    s2.poll(0.0, 10_000)
    s2.receive(encode_pdu(Finished(back(s2.header), Condition.FILE_CHECKSUM_FAILURE,
                                   DeliveryCode.INCOMPLETE)), 1.0)
    assert s2.poll(1.0, 5) == [] and not s2.done and not s2.delivered
    assert kinds(s2.poll(1.0, 10_000)) == ["Ack"] and s2.done


def test_sender_refuses_files_over_the_limit():
    Sender(CFG, CRAFT, 1, bytes(MAX_FILE_BYTES), "a", "b")
    with pytest.raises(ValueError, match=f"file of {MAX_FILE_BYTES + 1} octets is over"):
        Sender(CFG, CRAFT, 1, bytes(MAX_FILE_BYTES + 1), "a", "b")


# --- the receiving end ----------------------------------------------------------

def _receiver(tmp_path, accept=None, files=None, **kw):
    cfg = EntityConfig(CRAFT, **{"ack_timer_s": 8.0, "nak_timer_s": 5.0, "crc": False, **kw})
    return Receiver(cfg, tmp_path / "work",
                    accept or (lambda name: tmp_path / "in" / name),
                    (files.append if files is not None else None))


H = Header(GROUND, CRAFT, 7, crc=False)


def send(rx, *pdus, now=0.0):
    for p in pdus:
        rx.receive(encode_pdu(p), now)


def test_receiver_delivers_the_whole_file_and_reports_it_finished(tmp_path):
    files = []
    rx = _receiver(tmp_path, files=files)
    send(rx, Metadata(H, 512, b"s", b"dst.bin"), FileData(H, 0, DATA[:300]),
         FileData(H, 300, DATA[300:]), Eof(H, cfdp.modular_checksum(DATA), 512))
    assert (tmp_path / "in" / "dst.bin").read_bytes() == DATA and files == [
        tmp_path / "in" / "dst.bin"]
    out = [decode_pdu(r) for r in rx.poll(0.0, 10_000)]
    assert [type(p).__name__ for p in out] == ["Ack", "Finished"]
    assert out[0].acked == Directive.EOF and out[0].header.toward_sender
    fin = out[1]
    assert (fin.condition, fin.delivery, fin.status) == (Condition.NO_ERROR,
                                                         DeliveryCode.COMPLETE,
                                                         FileStatus.RETAINED)
    # Finished again every ack timer until acknowledged, then never again
    assert rx.poll(7.99, 10_000) == [] and kinds(rx.poll(8.0, 10_000)) == ["Finished"]
    send(rx, Ack(H, Directive.FINISHED), now=9.0)
    assert rx.poll(100.0, 10_000) == []
    assert (tmp_path / "work" / "1-7.json").exists()
    rx.forget_finished()
    assert rx.transactions == {} and not (tmp_path / "work" / "1-7.json").exists()


def test_receiver_naks_the_gaps_on_its_timer_and_metadata_as_0_0(tmp_path):
    rx = _receiver(tmp_path)
    send(rx, FileData(H, 100, DATA[100:200]), Eof(H, cfdp.modular_checksum(DATA), 512))
    out = [decode_pdu(r) for r in rx.poll(1.0, 10_000)]
    assert [type(p).__name__ for p in out] == ["Ack", "Nak"]
    nak = out[1]
    assert (nak.start, nak.end) == (0, 512)
    assert nak.segments == ((0, 0), (0, 100), (200, 512))
    assert rx.poll(5.99, 10_000) == []
    assert kinds(rx.poll(6.0, 10_000)) == ["Nak"]
    # an EOF again asks for an ACK and a NAK at once
    send(rx, Metadata(H, 512, b"s", b"x"), Eof(H, 0, 512), now=6.5)
    out = [decode_pdu(r) for r in rx.poll(6.5, 10_000)]
    assert [type(p).__name__ for p in out] == ["Ack", "Nak"]
    assert out[1].segments == ((0, 100), (200, 512))


def test_a_nak_lists_as_many_gaps_as_fit_and_no_more_than_the_limit(tmp_path):
    rx = _receiver(tmp_path, max_nak_segments=3)
    send(rx, Metadata(H, 512, b"s", b"x"))
    for off in range(0, 512, 20):  # every other 10 octets: 26 gaps
        send(rx, FileData(H, off, DATA[off:off + 10]))
    send(rx, Eof(H, 0, 512))
    rx.poll(0.0, 10_000)  # the ACK and the first NAK
    nak = decode_pdu(rx.poll(5.0, 10_000)[0])
    assert nak.segments == ((10, 20), (30, 40), (50, 60))
    rx = _receiver(tmp_path / "b")
    send(rx, Metadata(H, 512, b"s", b"x"))
    for off in range(0, 512, 20):
        send(rx, FileData(H, off, DATA[off:off + 10]))
    send(rx, Eof(H, 0, 512))
    ack_len = len(rx.poll(0.0, 20))  # only the ACK fits
    assert ack_len == 1
    empty = len(encode_pdu(Nak(back(H), 0, 512, ())))
    nak = decode_pdu(rx.poll(5.0, empty + 2 * 4 * 2)[0])
    assert nak.segments == ((10, 20), (30, 40))  # two pairs of 4-octet offsets fit
    assert decode_pdu(rx.poll(10.0, empty + 15)[0]).segments == ((10, 20),)
    assert rx.poll(15.0, empty) == []  # not even one gap fits: the NAK waits


@pytest.mark.parametrize("pdus, condition, status", [
    ([Metadata(H, 4, b"s", b"x"), FileData(H, 0, b"abcd"), Eof(H, 12345, 4)],
     Condition.FILE_CHECKSUM_FAILURE, FileStatus.DISCARDED_DELIBERATELY),
    ([Metadata(H, 5, b"s", b"x"), FileData(H, 0, b"abcd"),
      Eof(H, cfdp.modular_checksum(b"abcd"), 4)],
     Condition.FILE_SIZE_ERROR, FileStatus.DISCARDED_DELIBERATELY),
    ([Metadata(H, MAX_FILE_BYTES + 1, b"s", b"x")],
     Condition.FILE_SIZE_ERROR, FileStatus.DISCARDED_DELIBERATELY),
    ([Metadata(H, 4, b"s", b"refused"), FileData(H, 0, b"abcd"),
      Eof(H, cfdp.modular_checksum(b"abcd"), 4)],
     Condition.FILESTORE_REJECTION, FileStatus.DISCARDED_FILESTORE_REJECTION),
])
def test_a_file_that_cannot_be_kept_is_reported_with_why(tmp_path, pdus, condition, status):
    files = []
    rx = _receiver(tmp_path, files=files,
                   accept=lambda n: None if n == "refused" else tmp_path / "in" / n)
    send(rx, *pdus)
    fin = [decode_pdu(r) for r in rx.poll(0.0, 10_000) if isinstance(decode_pdu(r), Finished)]
    assert len(fin) == 1
    assert (fin[0].condition, fin[0].delivery, fin[0].status) == (
        condition, DeliveryCode.INCOMPLETE, status)
    assert files == [] and not (tmp_path / "in").exists()
    assert not list((tmp_path / "work").glob("*.part"))  # the partial file is gone


def test_an_empty_file_is_delivered(tmp_path):
    files = []
    rx = _receiver(tmp_path, files=files)
    send(rx, Metadata(H, 0, b"s", b"empty"), Eof(H, 0, 0))
    assert (tmp_path / "in" / "empty").read_bytes() == b"" and len(files) == 1


def test_receiver_drops_pdus_not_for_it(tmp_path):
    rx = _receiver(tmp_path)
    send(rx, Metadata(Header(GROUND, 9, 7, crc=False), 4, b"s", b"x"))  # other entity
    send(rx, Metadata(H.replace(toward_sender=True), 4, b"s", b"x"))  # wrong direction
    send(rx, Metadata(H.replace(acknowledged=False), 4, b"s", b"x"))  # class 1
    rx.receive(b"\x00\x01", 0.0)  # not a PDU
    assert rx.rejected_pdus == 4 and rx.transactions == {}
    send(rx, Ack(H, Directive.FINISHED))  # an ACK opens no transaction
    assert rx.transactions == {} and rx.rejected_pdus == 4
    send(rx, Metadata(H, 4, b"s", b"x"), FileData(H, 2, b"abc"))  # past the declared size
    assert rx.rejected_pdus == 5
    send(rx, FileData(H, MAX_FILE_BYTES - 1, b"ab"))
    assert rx.rejected_pdus == 6


def test_a_transfer_resumes_after_a_restart_and_damaged_state_is_skipped(tmp_path):
    rx = _receiver(tmp_path)
    send(rx, Metadata(H, 512, b"s", b"dst.bin"), FileData(H, 0, DATA[:200]))
    (tmp_path / "work" / "9-9.json").write_text("{damaged")
    (tmp_path / "work" / "8-8.json").write_text(json.dumps({"header": {}}))
    files = []
    rx = _receiver(tmp_path, files=files)
    assert list(rx.transactions) == [(GROUND, 7)]
    t = rx.transactions[(GROUND, 7)]
    assert t.received == [(0, 200)] and t.file_size == 512 and t.dest_name == "dst.bin"
    send(rx, FileData(H, 200, DATA[200:]), Eof(H, cfdp.modular_checksum(DATA), 512))
    assert files and (tmp_path / "in" / "dst.bin").read_bytes() == DATA
    # the outcome itself survives a restart, so Finished is repeated until acknowledged
    rx = _receiver(tmp_path)
    fin = rx.transactions[(GROUND, 7)].finished
    assert fin is not None and fin.condition == Condition.NO_ERROR and fin.header.toward_sender
    assert kinds(rx.poll(0.0, 10_000)) == ["Finished"]
    send(rx, Ack(H, Directive.FINISHED))
    assert _receiver(tmp_path).transactions[(GROUND, 7)].finished_acked


def test_file_data_after_the_outcome_changes_nothing(tmp_path):
    rx = _receiver(tmp_path)
    send(rx, Metadata(H, 4, b"s", b"x"), FileData(H, 0, b"abcd"),
         Eof(H, cfdp.modular_checksum(b"abcd"), 4))
    send(rx, FileData(H, 0, b"zzzz"), Metadata(H, 8, b"s", b"y"))
    assert (tmp_path / "in" / "x").read_bytes() == b"abcd"
    assert rx.transactions[(GROUND, 7)].file_size == 4


def test_a_file_of_the_largest_size_is_taken_and_odd_names_do_not_stop_the_receiver(tmp_path):
    rx = _receiver(tmp_path, accept=lambda n: tmp_path / "in" / "deep" / n.replace("\ufffd", "_"))
    send(rx, Metadata(H, MAX_FILE_BYTES, b"s", b"big"))
    t = rx.transactions[(GROUND, 7)]
    assert t.finished is None and t.file_size == MAX_FILE_BYTES
    h2 = H.replace(seq_num=8)
    send(rx, Metadata(h2, 2, b"s", b"n\xffm"), FileData(h2, 0, b"ok"),
         Eof(h2, cfdp.modular_checksum(b"ok"), 2))
    assert rx.transactions[(GROUND, 8)].dest_name == "n\ufffdm"
    assert (tmp_path / "in" / "deep" / "n_m").read_bytes() == b"ok"


def test_after_a_restart_the_missing_data_alone_completes_a_transfer_whose_eof_came(tmp_path):
    rx = _receiver(tmp_path)
    send(rx, Metadata(H, 512, b"s", b"dst.bin"), FileData(H, 0, DATA[:300]),
         Eof(H, cfdp.modular_checksum(DATA), 512))
    files = []
    rx = _receiver(tmp_path, files=files)  # the computer restarted
    # the NAK for what is missing goes out without waiting for another EOF
    nak = [decode_pdu(r) for r in rx.poll(0.0, 10_000)]
    assert [type(p).__name__ for p in nak] == ["Nak"] and nak[0].segments == ((300, 512),)
    send(rx, FileData(H, 300, DATA[300:]))
    assert files == [tmp_path / "in" / "dst.bin"]
    assert (tmp_path / "in" / "dst.bin").read_bytes() == DATA


# --- mutation-hunted corners -------------------------------------------------------

def test_sender_counts_every_pdu_and_octet_it_sent_and_flags_its_crc():
    s = Sender(EntityConfig(GROUND, segment_bytes=200, ack_timer_s=8.0, crc=True),
               CRAFT, 7, DATA, "src.bin", "dst.bin")
    sent = s.poll(0.0, 300) + s.poll(1.0, 300) + s.poll(2.0, 10_000)
    assert kinds(sent) == ["Metadata", "FileData", "FileData", "FileData", "Eof"]
    assert (s.pdus_sent, s.octets_sent) == (5, sum(map(len, sent)))
    # 727.0-B-5 5.1: version (3) | type | direction | mode | CRC flag | large file flag
    assert all(raw[0] & 0b10 for raw in sent)


def _finished_at(rx, now):
    send(rx, Metadata(H, 512, b"s", b"dst.bin"), FileData(H, 0, DATA),
         Eof(H, cfdp.modular_checksum(DATA), 512), now=now)
    assert kinds(rx.poll(now, 10_000)) == ["Ack", "Finished"]


def test_receiver_repeats_finished_one_ack_timer_after_it_last_sent_it(tmp_path):
    rx = _receiver(tmp_path)
    _finished_at(rx, 100.0)
    assert rx.poll(101.0, 10_000) == [] and rx.poll(107.99, 10_000) == []
    assert kinds(rx.poll(108.0, 10_000)) == ["Finished"]


def test_only_an_ack_of_finished_ends_the_repeats_and_stray_pdus_are_ignored(tmp_path):
    rx = _receiver(tmp_path)
    _finished_at(rx, 0.0)
    send(rx, Nak(H, 0, 512, ()), Finished(H, Condition.NO_ERROR, DeliveryCode.COMPLETE,
                                          FileStatus.RETAINED), now=1.0)  # wrong way round
    send(rx, Ack(H, Directive.EOF), now=1.0)  # not an ACK of Finished
    rx.forget_finished()  # unacknowledged: kept, still repeated
    assert kinds(rx.poll(8.0, 10_000)) == ["Finished"]
    send(rx, Ack(H, Directive.FINISHED), now=9.0)
    rx.forget_finished()
    assert rx.transactions == {}


def test_files_into_one_folder_all_arrive(tmp_path):
    rx = _receiver(tmp_path, accept=lambda name: tmp_path / "in" / name)
    for seq, name in ((7, b"a.bin"), (8, b"b.bin")):
        h = H.replace(seq_num=seq)
        send(rx, Metadata(h, 3, b"s", name), FileData(h, 0, b"abc"),
             Eof(h, cfdp.modular_checksum(b"abc"), 3))
    assert sorted(p.name for p in (tmp_path / "in").iterdir()) == ["a.bin", "b.bin"]


def test_file_data_ending_at_the_size_limit_is_taken(tmp_path):
    rx = _receiver(tmp_path)
    send(rx, Metadata(H, MAX_FILE_BYTES, b"s", b"big"),
         FileData(H, MAX_FILE_BYTES - 4, b"last"))
    assert rx.rejected_pdus == 0
    assert rx.transactions[(GROUND, 7)].received == [(MAX_FILE_BYTES - 4, MAX_FILE_BYTES)]


def test_the_budget_spent_is_counted_across_transactions(tmp_path):
    rx = _receiver(tmp_path)
    for seq in (7, 8, 9):  # three empty files, each owed an ACK of EOF and a Finished
        h = H.replace(seq_num=seq)
        send(rx, Metadata(h, 0, b"s", f"{seq}.bin".encode()), Eof(h, 0, 0))
    pair = sum(map(len, rx.poll(0.0, 10_000)[:2]))  # what the first transaction sends
    assert kinds(rx.poll(8.0, 10_000)) == ["Finished"] * 3  # the Finished repeat once
    rx = _receiver(tmp_path / "again")
    for seq in (7, 8, 9):
        h = H.replace(seq_num=seq)
        send(rx, Metadata(h, 0, b"s", f"{seq}.bin".encode()), Eof(h, 0, 0))
    assert kinds(rx.poll(0.0, 2 * pair)) == ["Ack", "Finished"] * 2


def test_a_nak_after_an_ack_fits_what_is_left_of_the_budget(tmp_path):
    ack = len(encode_pdu(Ack(back(H), Directive.EOF)))
    three = len(encode_pdu(Nak(back(H), 0, 512, ((10, 20), (30, 40), (50, 60)))))
    done = H.replace(seq_num=6)  # an empty file before it: its ACK and Finished go first
    before = encode_pdu(Ack(back(done), Directive.EOF)), encode_pdu(Finished(
        back(done), Condition.NO_ERROR, DeliveryCode.COMPLETE, FileStatus.RETAINED))
    for first in ((), (Metadata(done, 0, b"s", b"empty.bin"), Eof(done, 0, 0))):
        rx = _receiver(tmp_path / str(len(first)))
        holes = [FileData(H, 20 * k, DATA[20 * k:20 * k + 10]) for k in range(20)]
        send(rx, *first, Metadata(H, 512, b"s", b"dst.bin"), *holes,
             Eof(H, cfdp.modular_checksum(DATA), 512))
        budget = ack + three + (sum(map(len, before)) if first else 0)
        out = [decode_pdu(r) for r in rx.poll(0.0, budget)]
        assert [type(p).__name__ for p in out][-2:] == ["Ack", "Nak"]
        assert list(out[-1].segments) == [(10, 20), (30, 40), (50, 60)]


def test_received_ranges_merge_when_they_touch_and_gaps_are_never_empty():
    from fsw.protocol.cfdp_entity import gaps, merge

    assert merge([(0, 10)], 10, 20) == [(0, 20)]  # octets 0..19, one run
    assert merge([(0, 10), (30, 40)], 15, 20) == [(0, 10), (15, 20), (30, 40)]
    assert gaps([(0, 5), (8, 10)], 5) == []  # data past the EOF's size is no gap
    assert gaps([(2, 5)], 7) == [(0, 2), (5, 7)]


def test_a_finished_repeated_after_a_restart_says_the_same(tmp_path):
    rx = _receiver(tmp_path, accept=lambda name: None)  # the filestore refuses it
    send(rx, Metadata(H, 3, b"s", b"x"), FileData(H, 0, b"abc"),
         Eof(H, cfdp.modular_checksum(b"abc"), 3))
    before = [p for p in map(decode_pdu, rx.poll(0.0, 10_000)) if isinstance(p, Finished)]
    again = _receiver(tmp_path, accept=lambda name: None)  # a reboot
    after = [decode_pdu(r) for r in again.poll(100.0, 10_000)]
    assert [(p.condition, p.delivery, p.status) for p in after] == [
        (p.condition, p.delivery, p.status) for p in before] == [
        (Condition.FILESTORE_REJECTION, DeliveryCode.INCOMPLETE,
         FileStatus.DISCARDED_FILESTORE_REJECTION)]


def test_a_file_name_of_255_octets_is_the_longest():
    """727.0-B-5: an LV file name's length is one octet."""
    longest = Metadata(H, 1, b"s", b"n" * 255)
    assert decode_pdu(encode_pdu(longest)).dest_name == b"n" * 255
    with pytest.raises(ValueError):
        encode_pdu(Metadata(H, 1, b"s", b"n" * 256))


def test_more_corners_the_mutants_found(tmp_path):
    from fsw.protocol.cfdp_entity import merge

    # a range that ends where a received one begins joins it
    assert merge([(10, 20)], 0, 10) == [(0, 20)]
    # 727.0-B-5 5.1: entity ID and sequence number lengths are coded as length - 1
    # in 3 bits, so 1..8 octets; 9 cannot be written
    assert len(encode_pdu(Eof(H.replace(seq_num_len=8), 0, 0))) == \
        len(encode_pdu(Eof(H.replace(seq_num_len=4), 0, 0))) + 4
    for bad in ({"seq_num_len": 9}, {"entity_id_len": 9}, {"seq_num_len": 0}):
        with pytest.raises(ValueError):
            encode_pdu(Eof(H.replace(**bad), 0, 0))
    # a damaged state file does not stop the ones after it from loading
    rx = _receiver(tmp_path)
    send(rx, Metadata(H, 512, b"s", b"dst.bin"))
    (tmp_path / "work" / "0-0.json").write_text("{not json")
    assert list(_receiver(tmp_path).transactions) == [(GROUND, 7)]


def test_file_data_with_the_segment_metadata_flag_octet_by_octet():
    """727.0-B-5 5.1 octet 4: segmentation control | entity ID length - 1 (3) |
    segment metadata flag | sequence number length - 1 (3); with the flag, the
    File Data PDU starts with a segment metadata octet (no metadata: 0x00)."""
    h = H.replace(segment_metadata=True)  # 2-octet entity IDs, 4-octet sequence numbers
    raw = encode_pdu(FileData(h, 5, b"ab"))
    assert raw[3] == 0b0_001_1_011 and raw[4:] == bytes.fromhex(
        "0001" "00000007" "0002" "00" "00000005") + b"ab"
    assert decode_pdu(raw) == FileData(h, 5, b"ab")
    assert encode_pdu(FileData(H, 5, b"ab"))[3] == 0b0_001_0_011


def _cut(raw: bytes, n: int) -> bytes:
    """The PDU's header (4 fixed octets, IDs 2 + 2, sequence number 4) with its
    data field length set to `n`, and the first `n` octets of its data field."""
    return raw[:1] + n.to_bytes(2, "big") + raw[3:12 + n]


def test_a_pdu_cut_short_names_the_field_it_ends_in():
    # Metadata (727.0-B-5 5.2.5): directive | flags | file size (4) | LV source | LV dest
    md = encode_pdu(Metadata(H, 3, b"s", b"dst.bin"))
    nak = encode_pdu(Nak(back(H), 0, 512, ((1, 2),)))  # directive | scope start (4) | ...
    fd = encode_pdu(FileData(H.replace(segment_metadata=True), 0, b"ab"))
    eof = encode_pdu(Eof(H.replace(crc=True), 0, 0))
    for raw, words in ((_cut(md, 6), "truncated: CFDP: PDU ends inside source name length"),
                       (_cut(md, 8), "truncated: CFDP: PDU ends inside destination name length"),
                       (_cut(md, 9), "truncated: CFDP: PDU ends inside destination name"),
                       (_cut(nak, 3), "truncated: CFDP: PDU ends inside scope start"),
                       (_cut(fd, 0), "truncated: CFDP: PDU ends inside segment metadata"),
                       (md[:4], "length_mismatch: CFDP: 4 octets, the header says 28"),
                       (md[:3], "truncated: CFDP: 3 octets, the fixed header needs at least 4"),
                       (_cut(eof, 1), "field_range: CFDP: no room for the CRC")):
        with pytest.raises(cfdp.CfdpError) as err:
            decode_pdu(raw)
        assert str(err.value) == words

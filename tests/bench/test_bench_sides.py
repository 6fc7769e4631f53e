"""What two benchmarks prepare before timing: the same work on both sides."""

from __future__ import annotations


def test_the_sweep_replay_makes_the_sweeps_transactions_and_leaves_the_bus_as_it_was() -> None:
    from bench.bench_hal import rig, sweep, sweep_replay

    buses, emus, hw = rig()
    i2c = buses["i2c0"]
    attached = dict(i2c._targets)
    replay, count = sweep_replay(buses, emus, hw.devices)
    assert i2c._targets == attached  # the recorder is gone once the sweep is recorded
    mag = emus.magnetometer
    before = mag.transfers
    sweep(hw.devices)
    through_the_hal = mag.transfers - before
    before = mag.transfers
    replay()
    assert mag.transfers - before == through_the_hal > 0
    assert count > through_the_hal


def test_both_space_packet_sides_keep_the_same_fields_of_every_packet() -> None:
    from bench.bench_space_link import N_PACKETS, _packet_sides

    tessera, peer = _packet_sides()
    ours, theirs = tessera(), peer()
    assert len(ours) == N_PACKETS
    assert ours == [(int(apid), int(ptype), bool(sec), int(flags), int(count), bytes(data))
                    for apid, ptype, sec, flags, count, data in theirs]
    assert {t[1:4] for t in ours} == {(0, False, 3)}  # TM, no secondary header, unsegmented

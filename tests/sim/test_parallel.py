"""A constellation flown in worker processes gives each spacecraft the run it
would have had alone."""

import os

import pytest

from ground.sim.parallel import constellation, fly, fly_constellation


def test_three_spacecraft_in_two_processes_fly_as_they_would_alone():
    planes = constellation(3)
    assert [s.raan_deg for s in planes.values()] == [0.0, 120.0, 240.0]
    runs, wall_s = fly_constellation(planes, duration_s=20.0, workers=2)
    assert [r.name for r in runs] == ["sat1", "sat2", "sat3"]
    assert all(r.sim_s == pytest.approx(20.0) and r.failed_apps == () for r in runs)
    assert len({r.pid for r in runs}) == 2 and os.getpid() not in {r.pid for r in runs}
    alone = fly("sat3", planes["sat3"], 20.0)
    assert runs[2].w_end_body_deg_s == alone.w_end_body_deg_s  # bit for bit
    assert runs[0].w_end_body_deg_s != runs[2].w_end_body_deg_s  # other plane, other noise
    assert wall_s >= max(r.wall_s for r in runs)


def test_bad_constellations_are_refused():
    with pytest.raises(ValueError):
        constellation(0)
    with pytest.raises(ValueError):
        fly_constellation(constellation(1), duration_s=0.0)


def test_by_default_each_spacecraft_flies_in_a_process_of_its_own():
    # Three processes share two cores to the end; a pool of two would leave one idle.
    runs, _ = fly_constellation(constellation(3), duration_s=2.0)
    assert len({r.pid for r in runs}) == 3
    assert all(r.sim_s == pytest.approx(2.0) for r in runs)

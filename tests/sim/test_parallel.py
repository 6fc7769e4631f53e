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


def test_the_doc_snippet_flies_each_spacecraft_in_a_process_of_its_own(capsys):
    from pathlib import Path

    doc = (Path(__file__).parents[2] / "docs" / "simulation.md").read_text()
    section = doc.split("## Speed, and a constellation in parallel", 1)[1]
    snippet = section.split("```python\n", 1)[1].split("```", 1)[0]
    names: dict = {}
    exec(compile(snippet, "docs/simulation.md", "exec"), names)
    # By default three processes share the cores to the end (a pool of two
    # would leave a core idle while the third spacecraft flies).
    assert len({r.pid for r in names["runs"]}) == 3
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines[:3]] == ["sat1", "sat2", "sat3"]
    assert all("10 s flown" in line for line in lines[:3])
    assert lines[3].startswith("all three in ")

"""The benchmark harness treats both sides alike: order, warm-up, rounds, gc."""

from __future__ import annotations

import gc

import pytest

from bench.common import measure, paired, report, versions


def test_sides_alternate_after_one_warm_up_each() -> None:
    calls: list[str] = []
    paired(lambda: calls.append("t"), lambda: calls.append("p"), rounds=4, warmup=1)
    # warm-up t p, then rounds t p | p t | t p | p t
    assert calls == ["t", "p", "t", "p", "p", "t", "t", "p", "p", "t"]


def test_collector_off_during_each_timed_call_and_restored_after() -> None:
    seen: list[bool] = []
    assert gc.isenabled()
    paired(lambda: seen.append(gc.isenabled()), lambda: seen.append(gc.isenabled()),
           rounds=3, warmup=0)
    assert seen == [False] * 6
    assert gc.isenabled()


def test_collector_left_on_for_both_when_asked() -> None:
    seen: list[bool] = []
    paired(lambda: seen.append(gc.isenabled()), lambda: seen.append(gc.isenabled()),
           rounds=2, warmup=0, gc_enabled=True)
    assert seen == [True] * 4


def test_ratio_compares_time_per_item_of_each_side() -> None:
    # self-timed sides: Tessera 1 s for 10 items, peer 3 s for 5 items -> 6x per item
    result = paired(lambda: 1.0, lambda: 3.0, items=10, peer_items=5, rounds=3,
                    self_timed=True)
    assert result.ratio == pytest.approx(6.0)
    assert result.ratio_range == pytest.approx((6.0, 6.0))
    assert result.tessera.rate == pytest.approx(10.0)
    assert result.peer.rate == pytest.approx(5 / 3)


def test_median_and_spread_over_rounds() -> None:
    times = iter([3.0, 1.0, 2.0])
    t = measure(lambda: next(times), rounds=3, warmup=0, self_timed=True)
    assert t.median == 2.0
    assert t.per_item_range == (1.0, 3.0)


def test_a_self_timed_side_must_return_seconds() -> None:
    with pytest.raises(ValueError, match="seconds"):
        measure(lambda: None, rounds=1, warmup=0, self_timed=True)


def test_report_prints_both_figures_the_ratio_and_its_range(capsys) -> None:
    report("demo", paired(lambda: 1.0, lambda: 2.0, items=4, rounds=1, warmup=0,
                          self_timed=True), "peer", unit="things/s")
    out = capsys.readouterr().out
    assert "tessera 4.00 (4.00-4.00) things/s" in out
    assert "peer 2.00 (2.00-2.00) things/s" in out
    assert "ratio 2.00x (2.00-2.00)" in out


def test_versions_names_each_library() -> None:
    line = versions("numpy", "no-such-distribution-here")
    assert line.startswith("Python 3.")
    assert "numpy " in line and "no-such-distribution-here (not installed)" in line


def test_every_benchmark_times_through_the_harness() -> None:
    import importlib
    import inspect
    import pkgutil

    import bench

    names = [m.name for m in pkgutil.iter_modules(bench.__path__) if m.name.startswith("bench_")]
    assert names
    for name in names:
        module = importlib.import_module(f"bench.{name}")
        source = inspect.getsource(module)
        assert callable(module.main), name
        # every figure is printed by bench.common, with its rounds and spread
        assert "from bench.common import" in source, name

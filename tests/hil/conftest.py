"""A bench served in a thread on a real pty, for tests that need one end in-process."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from hil.scenario import load_scenario
from hil.server import BenchPort, BenchServer
from hil.world import BenchWorld

SHORT_SCENARIO = """
[scenario]
name = "contract"
mode = "lockstep"
duration_s = 100000.0
[initial]
w0_body_deg_s = [1.0, 2.0, 3.0]
seed = 3
"""


@dataclass
class ThreadBench:
    server: BenchServer
    world: BenchWorld
    link_path: Path
    thread: threading.Thread


def start_bench(tmp: Path, scenario_text: str = SHORT_SCENARIO, **server_options
                ) -> ThreadBench:
    world = BenchWorld(load_scenario(scenario_text))
    port = BenchPort(pty_link=tmp / "bench.link")
    server = BenchServer(port, world, **server_options)
    thread = threading.Thread(target=server.serve, kwargs={"connect_timeout_s": 60.0},
                              daemon=True)
    thread.start()
    return ThreadBench(server, world, tmp / "bench.link", thread)


def stop_bench(bench: ThreadBench) -> None:
    bench.server.stop()
    bench.thread.join(5.0)
    bench.server.port.close()


@pytest.fixture
def thread_bench(tmp_path: Path) -> Iterator[ThreadBench]:
    bench = start_bench(tmp_path)
    yield bench
    stop_bench(bench)


@pytest.fixture
def bench_factory(tmp_path: Path):
    """start(**server_options) -> ThreadBench; every bench started is stopped after."""
    started: list[ThreadBench] = []

    def start(**options) -> ThreadBench:
        bench = start_bench(tmp_path, **options)
        started.append(bench)
        return bench

    yield start
    for bench in started:
        stop_bench(bench)

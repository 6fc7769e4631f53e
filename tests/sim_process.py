"""`tessera sim --radio` as a process that tests wait on, not sleep beside.

The simulator writes its ground file (fleet.json), rewrites it with the
dictionary's path, and then says "running". Waiting for that line, rather than
for the file plus a guessed pause, holds however slowly a loaded machine runs
it; and its output is read all along, so a full pipe never blocks it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

ENV = {**os.environ, "PYTHONUNBUFFERED": "1"}


class SimProcess:
    """A running `tessera sim` (argv after `tessera`), its output kept in `lines`."""

    def __init__(self, args: Sequence[str], cwd: Path | None = None) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "tessera", *args], cwd=cwd, env=ENV,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines: list[str] = []
        self._running = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))
            if line.startswith("running"):
                self._running.set()
        self._running.set()      # it ended: wake the waiter, which sees the exit

    def wait_running(self, timeout_s: float = 180.0) -> None:
        """Until every file it writes is complete; AssertionError with its output if not."""
        self._running.wait(timeout_s)
        started = any(line.startswith("running") for line in self.lines)
        assert started and self.proc.poll() is None, \
            "tessera sim did not start:\n" + "\n".join(self.lines[-40:])

    def stop(self) -> None:
        """Ctrl-C, as a user stops it; killed if it has not ended ten seconds later."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

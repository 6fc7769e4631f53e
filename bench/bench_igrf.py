"""IGRF-14 field synthesis: instructions per ``tsr_igrf_field_eci`` call.

The SIL evaluates the degree-13 field twice every 10 Hz cycle: the
simulator's truth (``ground.sim.environment``) and the flight ADCS cycle's
reference (``csrc/tsr_adcs.c``). Here a plain C loop calls
``tsr_igrf_field_eci`` along an inclined low orbit, with the Earth angle and
the date moving every call, built from csrc/ with the extension's own flags
(Python's, then csrc/build_ffi.py's).
Under valgrind's callgrind the figure is the instructions spent inside the
call, per call, which the machine's load does not change; without valgrind,
nanoseconds per call (noisy on a shared machine).

    python -m bench igrf
    python -m bench.bench_igrf --calls 2000 --nmax 13
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import shutil
import subprocess
import sysconfig
import tempfile
from pathlib import Path

from bench.common import compare, note

ROOT = Path(__file__).resolve().parents[1]
CSRC = ROOT / "csrc"
AIM_INSTRUCTIONS = 6000.0

C_SOURCE = r"""
#define _POSIX_C_SOURCE 199309L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "tsr_igrf.h"

int main(int argc, char **argv)
{
    const int calls = (argc > 1) ? atoi(argv[1]) : 1000;
    const int nmax = (argc > 2) ? atoi(argv[2]) : 13;
    struct timespec t0, t1;
    double sum = 0.0;
    int k;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (k = 0; k < calls; k++) {
        /* 97 deg inclination, 6878 km +- 10 km, ~0.8 deg of orbit a call; 2026-2029 */
        const double u = 0.0137 * k, r = 6878.0 + 10.0 * sin(0.01 * k);
        const double pos[3] = {r * cos(u), r * sin(u) * cos(1.7), r * sin(u) * sin(1.7)};
        double b[3];
        if (tsr_igrf_field_eci(pos, 0.3 + 0.011 * k, 2026.0 + 1e-4 * (k % 30000), nmax, b) != 0) {
            return 1;
        }
        sum += b[0] + b[1] + b[2];
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("ns_per_call %.1f\nchecksum %.17g\n",
           (1e9 * (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec)) / calls, sum);
    return 0;
}
"""


def extension_cflags() -> list[str]:
    """The flags the C core is compiled with: Python's own (with -fwrapv, which
    changes the code generated for int arithmetic), then csrc/build_ffi.py's."""
    spec = importlib.util.spec_from_file_location("build_ffi", CSRC / "build_ffi.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    python_flags = [sysconfig.get_config_var(name) or "" for name in ("CFLAGS", "CCSHARED")]
    return [*" ".join(python_flags).split(), *module.CFLAGS]


def build(tmp: Path) -> Path:
    """Compile the loop with csrc/ into `tmp`; the executable's path."""
    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        raise RuntimeError("no C compiler on PATH")
    src = tmp / "igrf_calls.c"
    exe = tmp / "igrf_calls"
    src.write_text(C_SOURCE)
    subprocess.run([cc, *extension_cflags(), f"-I{CSRC}", *sorted(map(str, CSRC.glob("*.c"))),
                    str(src), "-lm", "-o", str(exe)], check=True)
    return exe


def instructions_per_call(exe: Path, calls: int, nmax: int) -> float:
    """Callgrind's instruction count inside tsr_igrf_field_eci, per call."""
    done = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
         "--toggle-collect=tsr_igrf_field_eci", str(exe), str(calls), str(nmax)],
        capture_output=True, text=True, check=True)
    found = re.search(r"refs:\s+([\d,]+)", done.stderr)
    if found is None:
        raise RuntimeError(f"no instruction count in callgrind's output:\n{done.stderr}")
    return int(found.group(1).replace(",", "")) / calls


def main(calls: int = 2000, nmax: int = 13) -> None:
    with tempfile.TemporaryDirectory(prefix="tessera-bench-") as tmp:
        exe = build(Path(tmp))
        timed = subprocess.run([str(exe), str(calls * 100), str(nmax)], check=True,
                               capture_output=True, text=True).stdout.split()
        note(f"degree {nmax}: {float(timed[1]):.0f} ns per call (wall clock, noisy)")
        if shutil.which("valgrind") is None:
            note("valgrind is not installed: no instruction count")
            return
        compare(f"tsr_igrf_field_eci, degree {nmax}, against the aim", "instructions/call",
                instructions_per_call(exe, calls, nmax), "aim", AIM_INSTRUCTIONS,
                higher_is_better=False)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.bench_igrf", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--nmax", type=int, default=13)
    args = parser.parse_args()
    main(args.calls, args.nmax)

"""Write csrc/data/legendre_factors.inc: the IGRF recursion's square-root factors.

The Schmidt semi-normalised associated Legendre functions P_n^m(cos theta) of
the IGRF synthesis (Langel, "The main field", Geomagnetism vol. 1, 1987,
eqs. 25-27; Winch et al., Geophys. J. Int. 160, 487-504, 2005, eqs. 2-5)
follow the recursions

    P_n^n = sqrt(1 - 1/(2n)) sin(theta) P_{n-1}^{n-1}                    (n >= 2)
    P_n^m = ((2n - 1) cos(theta) P_{n-1}^m
             - sqrt((n-1)^2 - m^2) P_{n-2}^m) / sqrt(n^2 - m^2)          (m < n)

whose factors depend on n and m alone. The C core reads them from the tables
written here instead of taking a square root per term each call. Each value is
the correctly rounded double of the square root of the double its radicand
rounds to, as C's sqrt gives it at run time, printed so that it reads back to
the same double (Python's repr), so the tables change no result.

    python csrc/data/legendre_factors.py        # rewrite the file
    python csrc/data/legendre_factors.py --check # exit 1 if it is stale
"""

from __future__ import annotations

import math
import sys
import textwrap
from pathlib import Path

NMAX = 13
OUT = Path(__file__).resolve().with_name("legendre_factors.inc")


def root_n2_minus_m2(n: int, m: int) -> float:
    """sqrt(n^2 - m^2), 0 on the diagonal m = n (no P_{n-1}^n term)."""
    return math.sqrt(float(n * n - m * m))


def sectoral(n: int) -> float:
    """sqrt(1 - 1/(2n)) for n >= 1, in C's order of operations."""
    return math.sqrt(1.0 - 1.0 / (2.0 * n))


def _row(values: list[float], indent: str) -> str:
    """A C initialiser list, wrapped to 100 columns."""
    body = textwrap.fill(", ".join(repr(v) for v in values), 100 - len(indent) - 2,
                         break_on_hyphens=False)
    return "{\n" + textwrap.indent(body, indent + "    ") + "\n" + indent + "}"


def render() -> str:
    """The text of legendre_factors.inc."""
    lines = [
        "/*",
        " * legendre_factors.inc - square-root factors of the Schmidt semi-normalised",
        " * Legendre recursion used by tsr_igrf.c, degree and order 0..13.",
        " *",
        " * Written by csrc/data/legendre_factors.py (which cites the recursion);",
        " * do not edit: rerun it. tests/gnc/test_environment.py checks that this",
        " * file is its output.",
        " */",
        "",
        f"/* igrf_root_n2m2[n][m] = sqrt(n^2 - m^2) for 0 <= m <= n <= {NMAX}; 0 above. */",
        f"static const double igrf_root_n2m2[{NMAX + 1}][{NMAX + 1}] = {{",
    ]
    for n in range(NMAX + 1):
        row = [root_n2_minus_m2(n, m) if m <= n else 0.0 for m in range(NMAX + 1)]
        lines.append(f"    {_row(row, '    ')},")
    lines += [
        "};",
        "",
        f"/* igrf_sectoral[n] = sqrt(1 - 1/(2n)) for 1 <= n <= {NMAX}; 0 for n = 0. */",
        f"static const double igrf_sectoral[{NMAX + 1}] = "
        + _row([0.0] + [sectoral(n) for n in range(1, NMAX + 1)], "") + ";",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        if OUT.read_text() != text:
            print(f"{OUT.name} is not the output of {Path(__file__).name}: rerun it")
            return 1
        return 0
    OUT.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

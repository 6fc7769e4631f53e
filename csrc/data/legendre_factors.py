"""Write csrc/data/legendre_factors.inc: the IGRF recursion's factors.

The Schmidt semi-normalised associated Legendre functions P_n^m(cos theta) of
the IGRF synthesis and their theta derivatives follow the recursions (Langel,
"The main field", in Geomagnetism vol. 1, ed. Jacobs, 1987; Winch et al.,
"Geomagnetism and Schmidt quasi-normalization", Geophys. J. Int. 160,
487-504, 2005)

    P_1^1 = sin(theta),  P_n^n = sqrt((2n - 1) / (2n)) sin(theta) P_{n-1}^{n-1}
    P_n^m = ((2n - 1) cos(theta) P_{n-1}^m
             - sqrt((n-1)^2 - m^2) P_{n-2}^m) / sqrt(n^2 - m^2)          (m < n)

whose factors depend on n and m alone. The C core reads them from the tables
written here, with the division folded in,

    P_n^m = a_nm cos(theta) P_{n-1}^m - b_nm P_{n-2}^m,
    a_nm = (2n - 1) / sqrt(n^2 - m^2),  b_nm = sqrt(((n-1)^2 - m^2) / (n^2 - m^2)),

instead of taking two square roots and a division per term each call. Each
value is the double nearest the exact real number (computed to 40 digits and
rounded once), printed so that it reads back to the same double.

    python csrc/data/legendre_factors.py        # rewrite the file
    python csrc/data/legendre_factors.py --check # exit 1 if it is stale
"""

from __future__ import annotations

import sys
import textwrap
from decimal import Decimal, localcontext
from pathlib import Path

NMAX = 13
OUT = Path(__file__).resolve().with_name("legendre_factors.inc")


def _nearest_double(numerator: int, denominator: int, root: bool) -> float:
    """The double nearest numerator / denominator, or its square root."""
    with localcontext() as ctx:
        ctx.prec = 40
        x = Decimal(numerator) / Decimal(denominator)
        return float(x.sqrt() if root else x)


def column_a(n: int, m: int) -> float:
    """a_nm = (2n - 1) / sqrt(n^2 - m^2) for 0 <= m < n; 0 otherwise."""
    if not 0 <= m < n:
        return 0.0
    return _nearest_double((2 * n - 1) ** 2, n * n - m * m, root=True)


def column_b(n: int, m: int) -> float:
    """b_nm = sqrt(((n-1)^2 - m^2) / (n^2 - m^2)) for 0 <= m < n; 0 otherwise."""
    if not 0 <= m < n:
        return 0.0
    return _nearest_double((n - 1) ** 2 - m * m, n * n - m * m, root=True)


def sectoral(n: int) -> float:
    """sqrt((2n - 1) / (2n)) for n >= 2; P_1^1 = sin(theta) has no factor (0 here)."""
    if n < 2:
        return 0.0
    return _nearest_double(2 * n - 1, 2 * n, root=True)


def _row(values: list[float], indent: str) -> str:
    """A C initialiser list, wrapped to 100 columns."""
    body = textwrap.fill(", ".join(repr(v) for v in values), 100 - len(indent) - 2,
                         break_on_hyphens=False)
    return "{\n" + textwrap.indent(body, indent + "    ") + "\n" + indent + "}"


def render() -> str:
    """The text of legendre_factors.inc."""
    lines = [
        "/*",
        " * legendre_factors.inc - factors of the Schmidt semi-normalised Legendre",
        f" * recursion used by tsr_igrf.c, degree and order 0..{NMAX}.",
        " *",
        " * Written by csrc/data/legendre_factors.py (which cites the recursion);",
        " * do not edit: rerun it. tests/gnc/test_environment.py checks that this",
        " * file is its output.",
        " */",
    ]
    for name, factor, what in (
            ("igrf_column_a", column_a, "(2n - 1) / sqrt(n^2 - m^2)"),
            ("igrf_column_b", column_b, "sqrt(((n-1)^2 - m^2) / (n^2 - m^2))")):
        lines += ["", f"/* {name}[n][m] = {what} for 0 <= m < n <= {NMAX}; 0 elsewhere. */",
                  f"static const double {name}[{NMAX + 1}][{NMAX + 1}] = {{"]
        for n in range(NMAX + 1):
            lines.append(f"    {_row([factor(n, m) for m in range(NMAX + 1)], '    ')},")
        lines.append("};")
    lines += [
        "",
        f"/* igrf_sectoral[n] = sqrt((2n - 1) / (2n)) for 2 <= n <= {NMAX}; 0 for n < 2. */",
        f"static const double igrf_sectoral[{NMAX + 1}] = "
        + _row([sectoral(n) for n in range(NMAX + 1)], "") + ";",
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

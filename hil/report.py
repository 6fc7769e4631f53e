"""Results of a bench run: criteria verdicts, an HTML report with PNG plots, JUnit XML.

Quantities a criterion can name:

- `truth.rate_deg_s`: the simulator's body rate magnitude, deg/s (1 s samples);
- `tm.<Message>.<field>`: flight telemetry carried on the link (vectors as
  their Euclidean norm, in the field's unit), e.g. `tm.AdcsState.w_body_rad_s`,
  `tm.ExecutiveHousekeeping.overruns`, `tm.adcsHousekeeping.mode`;
- `link.<counter>`: the bench's link statistics (`crc_errors`, `duplicates`,
  `frames_rx`, `flight_losses`, ...); `timing.<counter>`: `deadline_misses`,
  `frames_stamped`, `work_ms_max`, `work_ms_p99`.
"""

from __future__ import annotations

import html
import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hil.scenario import Criterion, Scenario
from hil.world import Recorder

__all__ = ["Verdict", "evaluate", "write_report"]


@dataclass(frozen=True)
class Verdict:
    criterion: Criterion
    passed: bool
    observed: float | None
    text: str


def _scalars(recorder: Recorder, link: dict[str, Any]) -> dict[str, float]:
    work = np.array(recorder.work_ms) if recorder.work_ms else np.zeros(1)
    out = {f"link.{k}": float(v) for k, v in link.items() if isinstance(v, (int, float))}
    out.update({"timing.deadline_misses": float(recorder.deadline_misses),
                "timing.frames_stamped": float(recorder.frames_stamped),
                "timing.work_ms_max": float(work.max()),
                "timing.work_ms_p99": float(np.percentile(work, 99))})
    return out


def _holds(op: str, value: float, threshold: float) -> bool:
    if op == "below":
        return value < threshold
    if op == "above":
        return value > threshold
    return value == threshold


def evaluate(scenario: Scenario, recorder: Recorder, link: dict[str, Any]) -> list[Verdict]:
    """One verdict per criterion of the scenario."""
    scalars = _scalars(recorder, link)
    verdicts = []
    for c in scenario.criteria:
        want = f"{c.op} {c.threshold:g}"
        if c.value in scalars:
            value = scalars[c.value]
            ok = _holds(c.op, value, c.threshold)
            verdicts.append(Verdict(c, ok, value, f"{c.value} = {value:g} (want {want})"))
            continue
        samples = recorder.series.get(c.value)
        if not samples:
            last = recorder.last_tm.get(c.value)
            if last is None or c.at_s is not None or c.from_s is not None:
                verdicts.append(Verdict(c, False, None, f"{c.value}: no samples recorded"))
                continue
            samples = [(math.inf, last)]
        if c.from_s is not None:
            tail = [(t, v) for t, v in samples if t >= c.from_s - 1e-9]
            bad = [(t, v) for t, v in tail if not _holds(c.op, v, c.threshold)]
            if not tail:
                verdicts.append(Verdict(c, False, None, f"{c.value}: no samples after "
                                        f"{c.from_s:g} s"))
            else:
                worst = bad[0] if bad else tail[-1]
                text = (f"{c.value} = {worst[1]:g} at {worst[0]:g} s (want {want} "
                        f"from {c.from_s:g} s)")
                verdicts.append(Verdict(c, not bad, worst[1], text))
            continue
        if c.at_s is not None:
            before = [(t, v) for t, v in samples if t <= c.at_s + 1e-9]
            if not before or c.at_s - before[-1][0] > 2.0:
                verdicts.append(Verdict(c, False, None, f"{c.value}: the run did not reach "
                                        f"{c.at_s:g} s"))
                continue
            t, value = before[-1]
        else:
            t, value = samples[-1]
        ok = _holds(c.op, value, c.threshold)
        at = "at the end" if math.isinf(t) else f"at {t:g} s"
        verdicts.append(Verdict(c, ok, value, f"{c.value} = {value:g} {at} (want {want})"))
    return verdicts


def write_junit(path: Path, scenario: Scenario, verdicts: list[Verdict],
                elapsed_s: float) -> None:
    suite = ET.Element("testsuite", name=f"hil.{scenario.name}", tests=str(len(verdicts)),
                       failures=str(sum(not v.passed for v in verdicts)), errors="0",
                       time=f"{elapsed_s:.3f}")
    for v in verdicts:
        case = ET.SubElement(suite, "testcase", classname=f"hil.{scenario.name}",
                             name=v.criterion.name, time="0")
        if v.passed:
            ET.SubElement(case, "system-out").text = v.text
        else:
            ET.SubElement(case, "failure", message=v.text, type="criterion").text = v.text
    root = ET.Element("testsuites")
    root.append(suite)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)


def _plots(out: Path, recorder: Recorder) -> list[tuple[str, str]]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    made = []
    fig, ax = plt.subplots(figsize=(7, 3.5))
    truth = recorder.series.get("truth.rate_deg_s", [])
    if truth:
        t, v = zip(*truth, strict=True)
        ax.plot(t, v, label="truth |w| (simulator)")
    est = recorder.series.get("tm.AdcsState.w_body_rad_s", [])
    if est:
        t, v = zip(*est, strict=True)
        ax.plot(t, np.degrees(v), label="flight estimate |w| (telemetry)", alpha=0.8)
    for t_s, _text in recorder.events:
        ax.axvline(t_s, color="grey", lw=0.6, ls=":")
    ax.set_xlabel("scenario time (s)")
    ax.set_ylabel("body rate (deg/s)")
    ax.set_yscale("log")
    ax.legend()
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(out / "rate.png", dpi=90)
    plt.close(fig)
    made.append(("rate.png", "Body rate: truth and flight estimate; dotted lines are faults"))

    fig, ax = plt.subplots(figsize=(7, 3.5))
    if recorder.work_ms:
        ax.hist(recorder.work_ms, bins=50, alpha=0.7, label="frame work (ms)")
    if recorder.wake_late_ms:
        ax.hist(recorder.wake_late_ms, bins=50, alpha=0.7, label="wake latency (ms)")
    if recorder.tick_wall_ms:
        ax.hist(recorder.tick_wall_ms, bins=50, alpha=0.7, label="lockstep tick period, wall (ms)")
    ax.set_xlabel("ms")
    ax.set_ylabel("frames")
    ax.set_yscale("log")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "timing.png", dpi=90)
    plt.close(fig)
    made.append(("timing.png", "Loop timing histogram"))
    return made


def _stats_table(values: dict[str, Any]) -> str:
    rows = "".join(f"<tr><td>{html.escape(str(k))}</td><td>{html.escape(_fmt(v))}</td></tr>"
                   for k, v in values.items())
    return f"<table>{rows}</table>"


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def timing_summary(recorder: Recorder) -> dict[str, Any]:
    def pct(values: list[float], q: float) -> float:
        return float(np.percentile(values, q)) if values else 0.0

    return {"frames stamped (real time)": recorder.frames_stamped,
            "deadline misses": recorder.deadline_misses,
            "work p50 / p99 / max (ms)": f"{pct(recorder.work_ms, 50):.2f} / "
            f"{pct(recorder.work_ms, 99):.2f} / {max(recorder.work_ms, default=0.0):.2f}",
            "wake latency p50 / p99 (ms), jitter": f"{pct(recorder.wake_late_ms, 50):.2f} / "
            f"{pct(recorder.wake_late_ms, 99):.2f}",
            "lockstep ticks": len(recorder.tick_wall_ms) + (1 if recorder.tick_wall_ms else 0),
            "lockstep tick p50 / p99 (ms wall)": f"{pct(recorder.tick_wall_ms, 50):.2f} / "
            f"{pct(recorder.tick_wall_ms, 99):.2f}",
            "telemetry records": recorder.tm_records}


def write_report(out: Path, scenario: Scenario, recorder: Recorder, link: dict[str, Any],
                 *, elapsed_s: float, baud: int) -> list[Verdict]:
    """Evaluate, then write report.html, *.png and junit.xml into `out`."""
    out.mkdir(parents=True, exist_ok=True)
    verdicts = evaluate(scenario, recorder, link)
    write_junit(out / "junit.xml", scenario, verdicts, elapsed_s)
    plots = _plots(out, recorder)
    rows = "".join(
        f"<tr class={'pass' if v.passed else 'fail'}><td>{'PASS' if v.passed else 'FAIL'}"
        f"</td><td>{html.escape(v.criterion.name)}</td><td>{html.escape(v.text)}</td></tr>"
        for v in verdicts)
    events = "".join(f"<li>{t:.1f} s: {html.escape(text)}</li>" for t, text in recorder.events)
    images = "".join(f"<figure><img src='{name}'><figcaption>{html.escape(cap)}</figcaption>"
                     "</figure>" for name, cap in plots)
    up, down = link.get("utilisation", (0.0, 0.0))
    link_rows = {**{k: v for k, v in link.items() if k != "utilisation"},
                 f"utilisation at {baud} baud, flight->bench": f"{up:.1%}",
                 f"utilisation at {baud} baud, bench->flight": f"{down:.1%}"}
    page = f"""<!doctype html><html><head><meta charset="utf-8">
<title>Bench run: {html.escape(scenario.name)}</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:auto}} td{{padding:2px 8px}}
tr.pass td:first-child{{color:green}} tr.fail td:first-child{{color:#b00}}</style></head><body>
<h1>Bench run: {html.escape(scenario.name)}</h1>
<p>{html.escape(scenario.mode)} mode, {scenario.duration_s:g} s scenario, {elapsed_s:.1f} s wall.
{sum(v.passed for v in verdicts)} of {len(verdicts)} criteria passed.</p>
<h2>Criteria</h2><table>{rows}</table>
<h2>Plots</h2>{images}
<h2>Faults and events</h2><ul>{events or '<li>none</li>'}</ul>
<h2>Loop timing</h2>{_stats_table(timing_summary(recorder))}
<h2>Link statistics</h2>{_stats_table(link_rows)}
</body></html>"""
    (out / "report.html").write_text(page)
    return verdicts

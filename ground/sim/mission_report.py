"""The mission report: facts from what the ground received and what the simulation flew.

`mission_facts` gathers the facts of a run: per spacecraft when it
detumbled and acquired the sun (simulation truth), the passes with the
procedures run in each, every command each control centre sent with its
verification (from each centre's archive), the events the spacecraft
downlinked, the SAFE episode, the partner's dosimeter data in each
centre's archive, and the on-board audit log. `write_report` writes them as
``mission.json`` and as ``mission.html`` with one PNG per spacecraft
(body rate and sun angle, battery, modes; passes shaded).
"""

from __future__ import annotations

import html
import json
import math
import time
from pathlib import Path
from typing import Any

import numpy as np

from ground.archive import SqliteArchive
from ground.sim.mission import MissionPlan
from ground.sim.mission_ops import ROLES, MissionGround

DETUMBLED_DEG_S = 0.5
DOSIMETER_PREFIX = "dosimeter."
_MODE = {0: "SAFE", 1: "NOMINAL", 2: "PAYLOAD"}
_SEVERITY = {1: "INFO", 2: "LOW", 3: "MEDIUM", 4: "HIGH"}


def _detumbled_at(t: np.ndarray, w: np.ndarray) -> float | None:
    above = np.nonzero(w >= DETUMBLED_DEG_S)[0]
    if len(above) == 0:
        return float(t[0]) if len(t) else None
    return float(t[above[-1] + 1]) if above[-1] + 1 < len(t) else None


def mission_facts(plan: MissionPlan, ground: MissionGround, wall_s: float) -> dict[str, Any]:
    """Everything the report states, as plain data (see the module docstring)."""
    archives = {role: SqliteArchive(ground.ground_dir / f"{role}.db") for role in ROLES}
    try:
        return _facts(plan, ground, wall_s, archives)
    finally:
        for a in archives.values():
            a.close()


def _facts(plan: MissionPlan, ground: MissionGround, wall_s: float,
           archives: dict[str, SqliteArchive]) -> dict[str, Any]:
    scid_of = {c.name: c.scid for c in plan.craft}
    name_of = {c.scid: c.name for c in plan.craft}
    craft = []
    for c in plan.craft:
        r = ground.results[c.name]
        tr = {k: np.asarray(v, dtype=float) for k, v in r.track.items()}
        t, mode = tr["t_s"], tr["mode"]
        sun = np.nonzero(tr["adcs_mode"] >= 2)[0]
        safe = np.nonzero(mode == 0)[0]
        entered = float(t[safe[0]]) if len(safe) else None
        left = None
        if len(safe):
            after = np.nonzero((mode != 0) & (t > t[safe[0]]))[0]
            left = float(t[after[0]]) if len(after) else None
        craft.append({
            "name": c.name, "scid": c.scid, "raan_deg": c.raan_deg,
            "released_deg_s": list(c.w0_body_deg_s), "battery_ah": c.battery_ah,
            "detumbled_at_s": _detumbled_at(t, tr["w_deg_s"]),
            "sun_acquired_at_s": float(t[sun[0]]) if len(sun) else None,
            "safe_entered_s": entered, "safe_left_s": left,
            "soc_min_pct": float(np.min(tr["soc_pct"])) if len(t) else None,
            "end_mode": _MODE.get(int(mode[-1]), "?") if len(t) else None,
            "hosts_payload": c.hosts_payload, "fault": c.fault is not None,
            "sim_s": r.sim_s, "cpu_s": r.cpu_s, "failed_apps": r.failed_apps,
            "radio": r.radio})
    passes = []
    for p in sorted(ground.passes.values(), key=lambda p: (p.aos_s, p.craft)):
        passes.append({
            "craft": p.craft, "number": p.number, "station": p.station,
            "aos_s": round(p.aos_s, 1), "los_s": round(p.los_s, 1),
            "max_elevation_deg": round(p.max_elevation_deg, 1),
            "contact_end_s": None if p.contact_end_s is None else round(p.contact_end_s, 1),
            "released": p.released, "tasks": p.tasks, "on_board": p.on_board,
            "procedures": {role: {"ok": run.ok, "error": run.error, "wall_s": round(run.wall_s, 2),
                                  "verified": sum(ln.startswith("verified") for ln in run.lines),
                                  "lines": run.lines}
                           for role, run in p.procedures.items()},
            "facts": p.facts, "worked": bool(p.procedures) and all(
                run.ok for run in p.procedures.values())})
    commands = []
    for role, archive in archives.items():
        for rec in archive.commands():
            commands.append({"role": role, "craft": name_of.get(rec.scid, hex(rec.scid)),
                             "sent": rec.sent_time, "text": rec.text, "status": rec.status,
                             "stages": rec.stages})
    commands.sort(key=lambda c: c["sent"])
    events = []
    for rec in archives["operator"].events(None, -math.inf, math.inf):
        events.append({"craft": name_of.get(rec.scid, hex(rec.scid)), "t_s": rec.t,
                       "origin": rec.origin, "app": rec.app, "name": rec.name,
                       "severity": _SEVERITY.get(rec.severity, str(rec.severity)),
                       "text": rec.text})
    events.sort(key=lambda e: (e["t_s"], e["craft"]))
    payload = plan.payload_craft
    partner_data: dict[str, Any] = {}
    for role, archive in archives.items():
        names = [n for n in archive.parameter_names() if n.startswith(DOSIMETER_PREFIX)]
        rows = {n: archive.samples(scid_of[payload.name], n, -math.inf, math.inf)
                for n in names}
        partner_data[role] = {"parameters": sorted(names),
                              "samples": sum(len(v) for v in rows.values()),
                              "dose": [(t, eng) for t, _raw, eng in
                                       rows.get(DOSIMETER_PREFIX + "DoseReport.total_dose", [])]}
    st = ground.state
    faulty = next(c for c in craft if c["fault"])
    facts = {
        "quick": plan.quick, "duration_s": plan.duration_s, "wall_s": round(wall_s, 1),
        "pass_pace": plan.pass_pace, "stations": [s.name for s in plan.stations],
        "craft": craft, "passes": passes, "commands": commands, "events": events,
        "partner": plan.partner, "payload_craft": payload.name,
        "partner_data": partner_data,
        "installed_in": list(st.installed_pass) if st.installed_pass else None,
        "bundle_octets": st.bundle.stat().st_size,
        "safe": {"craft": faulty["name"], "entered_s": faulty["safe_entered_s"],
                 "left_s": faulty["safe_left_s"],
                 "recovered_in": list(st.recovered) if st.recovered else None},
        "audit_log": {c.name: ground.results[c.name].audit_log for c in plan.craft},
        "audit_downlinked": _audit_records(archives["operator"], scid_of),
        "ground_notes": [n[2] for n in ground.notes if "[error]" in n[2]],
    }
    facts["checks"] = checks(facts)
    return facts


AUDIT_FIELDS = ("seq", "actor", "action", "app", "detail")


def _audit_records(archive: SqliteArchive, scid_of: dict[str, int]) -> list[dict[str, Any]]:
    """The AuditRecord telemetry the operator received, one row per record."""
    rows: list[dict[str, Any]] = []
    for craft, scid in scid_of.items():
        by_time: dict[float, dict[str, Any]] = {}
        for name in AUDIT_FIELDS:
            for t, _raw, eng in archive.samples(scid, f"audit.AuditRecord.{name}", -math.inf,
                                                math.inf):
                value = eng.rstrip(b"\0").decode("utf-8", "replace") \
                    if isinstance(eng, bytes) else eng
                by_time.setdefault(t, {"craft": craft, "t_s": t})[name] = value
        rows += by_time.values()
    return sorted(rows, key=lambda r: (r["t_s"], r["craft"]))


def checks(f: dict[str, Any]) -> dict[str, bool]:
    """The mission's claims, each true or false from the facts alone."""
    others = [r for r in ROLES if r not in ("operator", f["partner"])]
    upload = [p for p in f["passes"] if "upload" in p["tasks"]]
    return {
        "every app booted on every spacecraft": all(not c["failed_apps"] for c in f["craft"]),
        "every pass had its procedures": bool(f["passes"]) and all(p["worked"]
                                                                   for p in f["passes"]),
        "every spacecraft detumbled and acquired the sun": all(
            c["detumbled_at_s"] is not None and c["sun_acquired_at_s"] is not None
            for c in f["craft"]),
        "every command verified": bool(f["commands"]) and all(
            c["status"] == "completed" for c in f["commands"]),
        # Part of the bundle on board when the first upload pass ended, the rest later.
        "the partner's app crossed two passes and was installed": bool(upload) and bool(
            f["installed_in"]) and f["installed_in"][1] > upload[0]["number"]
        and 0 < upload[0]["on_board"].get("octets_arriving", 0) < f["bundle_octets"],
        "SAFE entered and left on the operator's command": f["safe"]["entered_s"] is not None
        and f["safe"]["left_s"] is not None and f["safe"]["recovered_in"] is not None,
        "partner data reached its partner": f["partner_data"][f["partner"]]["samples"] > 0,
        # Meaningful only where the other partner's session worked a pass of the payload
        # spacecraft while the app ran (and was refused its command there).
        "no other partner got it": all(f["partner_data"][r]["samples"] == 0 for r in others)
        and all(any(p["facts"].get(f"{r}.dosimeter_hidden") for p in f["passes"])
                for r in others),
    }


# -- plots ------------------------------------------------------------------------------
def plot_craft(path: Path, name: str, track: dict[str, list[float]],
               passes: list[dict[str, Any]]) -> Path | None:
    """Body rate and sun angle, battery, modes against mission time; passes shaded."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # the ground extra is not installed
        return None
    t = np.asarray(track["t_s"]) / 60.0
    fig, (top, mid, bottom) = plt.subplots(3, 1, figsize=(9, 7.5), sharex=True)
    top.semilogy(t, np.maximum(track["w_deg_s"], 1e-3), color="k", lw=1.0, label="|ω| (truth)")
    top.axhline(DETUMBLED_DEG_S, color="tab:red", ls="--", lw=0.8)
    top.set_ylabel("|ω| (deg/s)")
    twin = top.twinx()
    twin.plot(t, track["sun_angle_deg"], color="tab:orange", lw=0.8, label="+X to sun")
    twin.set_ylabel("sun angle (deg)", color="tab:orange")
    top.set_title(f"{name}: detumble, sun acquisition, passes (shaded)")
    mid.plot(t, track["soc_pct"], color="tab:green", lw=1.0, label="battery (truth)")
    mid.plot(t, track["soc_est_pct"], color="tab:blue", lw=0.8, ls="--",
             label="flight estimate")
    mid.axhline(25.0, color="tab:red", ls=":", lw=0.8, label="low-battery limit")
    mid.set_ylabel("charge (%)")
    mid.legend(loc="lower right", fontsize=8)
    bottom.step(t, track["mode"], where="post", color="tab:purple", label="mode")
    bottom.step(t, np.asarray(track["adcs_mode"]) + 3, where="post", color="tab:gray",
                label="ADCS mode")
    bottom.set_yticks([0, 1, 2, 4, 5, 6])
    bottom.set_yticklabels(["SAFE", "NOMINAL", "PAYLOAD", "DETUMBLE", "SUN", "NADIR"])
    bottom.set_xlabel("mission time (min)")
    for ax in (top, mid, bottom):
        ax.grid(alpha=0.3)
        for p in passes:
            ax.axvspan(p["aos_s"] / 60.0, p["los_s"] / 60.0, color="tab:cyan", alpha=0.15)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


# -- HTML -------------------------------------------------------------------------------
def _e(x: Any) -> str:
    return html.escape(str(x))


def _t(x: float | None) -> str:
    return "-" if x is None else f"{x:.0f} s"


def _table(head: list[str], rows: list[list[Any]], raw: bool = False) -> str:
    cells = "".join(f"<th>{_e(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{c if raw else _e(c)}</td>" for c in r) + "</tr>"
                   for r in rows)
    return f"<table><tr>{cells}</tr>{body}</table>"


def write_report(out: Path, facts: dict[str, Any], ground: MissionGround) -> Path:
    """mission.json, mission.html and <craft>.png in `out`; returns the HTML's path."""
    (out / "mission.json").write_text(json.dumps(facts, indent=1, default=str) + "\n")
    figures = {}
    for c in facts["craft"]:
        passes = [p for p in facts["passes"] if p["craft"] == c["name"]]
        png = plot_craft(out / f"{c['name']}.png", c["name"], ground.results[c["name"]].track,
                         passes)
        if png is not None:
            figures[c["name"]] = png.name
    parts = [f"<h1>Tessera constellation mission{' (quick)' if facts['quick'] else ''}</h1>",
             f"<p>{len(facts['craft'])} spacecraft, stations {', '.join(facts['stations'])}; "
             f"{facts['duration_s']:.0f} s of mission time in {facts['wall_s']:.0f} s of wall "
             "time.</p>", "<h2>Checks</h2>",
             _table(["claim", "holds"], [[k, "yes" if v else "NO"]
                                        for k, v in facts["checks"].items()]),
             "<h2>Spacecraft</h2>",
             _table(["name", "SCID", "RAAN", "detumbled", "sun acquired", "SAFE", "left SAFE",
                     "lowest charge", "mode at the end"],
                    [[c["name"], hex(c["scid"]), f"{c['raan_deg']:.0f} deg",
                      _t(c["detumbled_at_s"]), _t(c["sun_acquired_at_s"]),
                      _t(c["safe_entered_s"]), _t(c["safe_left_s"]),
                      f"{c['soc_min_pct']:.1f} %", c["end_mode"]] for c in facts["craft"]])]
    for name, png in figures.items():
        parts.append(f"<h3>{_e(name)}</h3><img src='{_e(png)}' alt='{_e(name)}' width='810'>")
    parts.append("<h2>Pass timeline</h2>")
    parts.append(_table(
        ["spacecraft", "pass", "station", "AOS", "LOS", "max elev.", "contact ended",
         "tasks", "operator", "uni-a", "uni-b", "facts"],
        [[p["craft"], p["number"], p["station"], _t(p["aos_s"]), _t(p["los_s"]),
          f"{p['max_elevation_deg']:.0f} deg",
          f"{_t(p['contact_end_s'])} ({'released' if p['released'] else 'LOS'})",
          ", ".join(p["tasks"]),
          *[("ok" if p["procedures"][r]["ok"] else "FAILED: " + p["procedures"][r]["error"])
            + f" ({p['procedures'][r]['verified']} verified)" if r in p["procedures"] else "-"
            for r in ROLES],
          json.dumps(p["facts"], default=str)] for p in facts["passes"]]))
    parts.append("<h2>Command log</h2>")
    parts.append(_table(["sent (UTC)", "spacecraft", "role", "command", "verification",
                         "stages reported (PUS 1)"],
                        [[time.strftime("%H:%M:%S", time.gmtime(c["sent"])), c["craft"],
                          c["role"], c["text"], c["status"],
                          ", ".join(f"{k} {v}" for k, v in c["stages"].items())]
                         for c in facts["commands"]]))
    parts.append(f"<h2>The partner's data ({_e(facts['partner'])}'s dosimeter on "
                 f"{_e(facts['payload_craft'])})</h2>")
    parts.append(_table(["ground session", "dosimeter parameters", "samples"],
                        [[r, ", ".join(d["parameters"]) or "none", d["samples"]]
                         for r, d in facts["partner_data"].items()]))
    dose = facts["partner_data"][facts["partner"]]["dose"]
    if dose:
        parts.append(_table(["on-board time", "total dose (uGy)"],
                            [[f"{t:.0f} s", f"{v:.4f}"] for t, v in dose[-20:]]))
    parts.append("<h2>Events (downlinked)</h2>")
    parts.append(_table(["time", "spacecraft", "origin", "severity", "event", "text"],
                        [[f"{e['t_s']:.1f} s", e["craft"], e["origin"], e["severity"],
                          e["name"], e["text"]] for e in facts["events"]]))
    parts.append("<h2>Audit log</h2><p>As downlinked (AuditRecord telemetry, in the "
                 "operator's archive):</p>")
    parts.append(_table(["time", "spacecraft", "seq", "actor", "action", "app", "detail"],
                        [[f"{r['t_s']:.1f} s", r["craft"], *(r.get(k, "") for k in AUDIT_FIELDS)]
                         for r in facts["audit_downlinked"]]))
    parts.append("<p>The on-board log files, read after the run (hash-chained):</p>")
    for name, text in facts["audit_log"].items():
        parts.append(f"<h3>{_e(name)}</h3><pre>{_e(text or '(empty)')}</pre>")
    style = ("body{font-family:sans-serif;margin:2em;max-width:80em}"
             "table{border-collapse:collapse;margin:1em 0;font-size:0.85em}"
             "td,th{border:1px solid #ccc;padding:2px 6px;text-align:left;vertical-align:top}"
             "pre{background:#f6f6f6;padding:0.5em;font-size:0.8em;overflow-x:auto}")
    page = (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Tessera mission</title>"
            f"<style>{style}</style></head><body>{''.join(parts)}</body></html>\n")
    path = out / "mission.html"
    path.write_text(page)
    return path

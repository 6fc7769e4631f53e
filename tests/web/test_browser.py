"""The console in headless Chromium (Debian's `chromium`, driven by Playwright).

Logs in as the operator and as a partner, watches live telemetry from a
running `tessera sim` update (through a relay that loses a few frames, so a
gap shows), sends a command through the generated form and
sees its verification complete, sees a limit violation turn the value red,
and checks that the partner's page neither shows nor can command the
operator's data, even with a request crafted in the page. With
``TESSERA_SCREENSHOTS=DIR`` the main pages are saved there as PNG.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import sqlite3
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
SHOTS = os.environ.get("TESSERA_SCREENSHOTS")
SEVERITY = {1: "INFO", 2: "LOW", 3: "MEDIUM", 4: "HIGH"}   # PUS ST[5] event report subtypes

pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="browser tests skipped: headless Chromium is not installed (apt-get install chromium)")


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api",
                                   reason="browser tests skipped: playwright is not installed")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


def open_console(browser, base: str, user: str, password: str):
    # The page's Content-Security-Policy forbids eval; Playwright's waits need it.
    page = browser.new_page(viewport={"width": 1200, "height": 800}, bypass_csp=True)
    page.set_default_timeout(60_000)
    page.goto(base + "/")
    page.fill("#login-user", user)
    page.fill("#login-password", password)
    page.click("#login-button")
    page.wait_for_selector("#console:not([hidden])")
    page.wait_for_selector("#conn.live")
    return page


def shot(page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"web-{name}.png"), full_page=True)


def tab(page, name: str) -> None:
    page.click(f"button[data-tab={name}]")


def test_operator_watches_telemetry_commands_and_sees_the_limit_turn_red(console, browser):
    base, work = console
    page = open_console(browser, base, "ops", "operator-pass-1")
    # Fleet: the spacecraft comes into a pass and reports its mode and battery.
    page.wait_for_function("document.querySelector('#fleet-table tr[data-spacecraft=sc1]')"
                           ".cells[2].textContent === 'in pass'", timeout=90_000)
    page.wait_for_function("document.querySelector('#fleet-table tr[data-spacecraft=sc1]')"
                           ".cells[6].textContent.endsWith('%')")
    # Pass timeline: the next AOS/LOS per station, each the station's own from the fleet file;
    # once the real-time TM after the stored TM is down, a station shows the pass it is in.
    page.wait_for_function("[...document.querySelectorAll('#pass-table td.pass-status')]"
                           ".some(td => td.textContent === 'in pass')", timeout=90_000)
    fleet = json.loads((work / "sim" / "fleet.json").read_text())["spacecraft"][0]
    rows = page.eval_on_selector_all(
        "#pass-table tr[data-spacecraft=sc1]",
        "rs => rs.map(r => [r.dataset.station, r.cells[2].textContent, r.cells[3].textContent,"
        " r.cells[5].querySelectorAll('.pass').length])")
    onboard = float(page.text_content("#fleet-table tr[data-spacecraft=sc1] td:nth-child(5)"))
    assert sorted(r[0] for r in rows) == sorted(fleet["station_passes_s"])
    for station, aos, los, _bars in rows:
        spans = fleet["station_passes_s"][station]
        upcoming = [s for s in spans if s[1] > onboard - 5]   # the page may be a push behind
        if aos == "-":
            assert not upcoming, station
            continue
        assert any(abs(int(aos) - a) <= 1 and abs(int(los) - b) <= 1
                   for a, b in upcoming[:2]), (station, aos, los, upcoming[:2])
    assert len({(aos, los) for _st, aos, los, _b in rows}) > 1   # not one merged network
    assert any(bars for *_rest, bars in rows)
    shot(page, "fleet")
    # Live telemetry: the on-board time column of a housekeeping parameter moves.
    tab(page, "telemetry")
    page.fill("#tm-filter", "sample.hk")
    cell = page.locator("tr[data-param='sc1/sample.hk.output_cnt'] td").nth(4)
    first = cell.text_content()
    page.wait_for_function(
        "t => document.querySelector(\"tr[data-param='sc1/sample.hk.output_cnt']\")"
        ".cells[4].textContent !== t", arg=first)
    # Command from the generated form; its verification completes on the page.
    tab(page, "commanding")
    page.select_option("#cmd-name", "sample.SET_INPUT")
    page.fill("input[data-arg=value]", "5e7")           # out of range: the form says no
    page.click("#cmd-send")
    assert "check" in page.text_content("#cmd-error")
    page.fill("input[data-arg=value]", "400")
    page.click("#cmd-send")
    status = page.locator("#cmd-table tbody tr").first.locator("td").nth(4)
    status.filter(has_text="completed").wait_for()
    assert "by ops" in page.locator("#cmd-table tbody tr").first.text_content()
    # A command the dictionary marks critical asks first; cancelled, nothing is sent.
    rows = page.locator("#cmd-table tbody tr")
    sent = rows.count()
    page.select_option("#cmd-name", "sample.NOOP")
    page.click("#cmd-send")
    page.wait_for_function(f"document.querySelectorAll('#cmd-table tbody tr').length > {sent}")
    assert not page.locator("#confirm").evaluate("d => d.open")
    sent = rows.count()
    page.select_option("#cmd-name", "mode.SET_MODE")
    assert "critical" in page.text_content("#cmd-doc")
    page.fill("input[data-arg=mode]", "1")
    page.click("#cmd-send")
    page.wait_for_selector("#confirm[open]")
    assert "mode.SET_MODE" in page.text_content("#confirm-text")
    page.click("#confirm-no")
    page.wait_for_timeout(1000)
    assert rows.count() == sent and not page.locator("#confirm").evaluate("d => d.open")
    page.click("#cmd-send")
    page.click("#confirm-yes")
    rows.first.filter(has_text="mode.SET_MODE").wait_for()
    assert rows.count() == sent + 1
    # A time-tagged command: released on board 15 s later, its verification follows then.
    onboard = float(page.text_content("#fleet-table tr[data-spacecraft=sc1] td:nth-child(5)"))
    page.select_option("#cmd-name", "sample.NOOP")
    page.fill("#cmd-release", f"{onboard + 15:.0f}")
    page.click("#cmd-send")
    timed = rows.filter(has_text="sample.NOOP").filter(has_text=f"@ {onboard + 15:.0f} s")
    timed.wait_for()
    assert rows.filter(has_text="schedule sample.NOOP").count() == 1
    timed.locator("td.status", has_text="completed").wait_for(timeout=90_000)
    page.fill("#cmd-release", "")
    page.select_option("#cmd-name", "sample.SET_INPUT")
    shot(page, "commanding")
    # The output crosses its critical limit (300 units): the value's cell turns red.
    tab(page, "telemetry")
    value = page.locator("tr[data-param='sc1/sample.hk.output_cnt'] td.value")
    value.and_(page.locator(".limit-CRITICAL")).wait_for()
    colour = value.evaluate("e => getComputedStyle(e).backgroundColor")
    r, g, b = (int(x) for x in re.findall(r"\d+", colour)[:3])
    assert r > 180 and g < 80 and b < 80, colour
    page.click("tr[data-param='sc1/sample.hk.output_cnt']")
    page.wait_for_timeout(1500)
    shot(page, "telemetry")
    # Events: each with its severity; a flight event's is the one its app declares.
    tab(page, "events")
    limit_row = page.locator("#ev-table tr", has_text="OK -> CRITICAL").first
    limit_row.wait_for()
    assert limit_row.locator("td.severity").text_content() == "HIGH"
    declared = {e["name"]: SEVERITY[e["severity"]] for a in
                json.loads((work / "sim" / "dictionary.json").read_text())["apps"]
                if a["name"] == "sample" for e in a["events"]}
    noop_row = page.locator("#ev-table tr.kind-event", has_text="sample NOOP").first
    noop_row.wait_for()
    assert noop_row.locator("td.severity").text_content() == declared["NOOP"]
    shown = "rs => rs.map(r => [r.cells[1].textContent, r.cells[2].textContent])"
    everything = page.eval_on_selector_all("#ev-table tbody tr", shown)
    page.select_option("#ev-severity", "HIGH")
    high = page.eval_on_selector_all("#ev-table tbody tr", shown)
    assert high and all(sev == "HIGH" for sev, _kind in high)
    assert len(high) < len(everything)
    page.select_option("#ev-severity", "INFO")
    page.select_option("#ev-kind", "verification")
    assert {kind for _sev, kind in page.eval_on_selector_all("#ev-table tbody tr", shown)} \
        == {"verification"}
    # Gaps: the frames the link lost show as a gap in the packet sequence.
    page.select_option("#ev-kind", "gap")
    gap = page.locator("#ev-table tr.kind-gap").first
    gap.wait_for()
    assert "lost on APID" in gap.text_content()
    assert gap.locator("td.severity").text_content() == "LOW"
    page.select_option("#ev-kind", "all")
    shot(page, "events")
    # The archive plots what came down.
    tab(page, "archive")
    page.select_option("#ar-names", "sample.hk.output_cnt")
    page.click("#ar-plot")
    page.wait_for_timeout(500)
    assert page.text_content("#ar-error") == ""
    shot(page, "archive")
    page.close()


def test_partner_sees_only_its_own_and_cannot_command_the_operators(console, browser):
    base, _ = console
    page = open_console(browser, base, "alice", "partner-pass-a")
    tab(page, "telemetry")
    page.locator("#tm-table tbody tr[data-param]").first.wait_for(timeout=90_000)
    page.wait_for_timeout(1000)
    names = page.eval_on_selector_all("#tm-table tbody tr[data-param]",
                                      "rs => rs.map(r => r.cells[1].textContent)")
    assert names and all(n.startswith("uni_a_sample.") for n in names), names[:5]
    tab(page, "commanding")
    offered = page.eval_on_selector_all("#cmd-name option", "os => os.map(o => o.value)")
    assert offered and all(n.startswith("uni_a_sample.") for n in offered)
    # A request crafted in the page, with the page's own session and CSRF token.
    forged = page.evaluate("""async () => {
        const r = await fetch('/api/command', {method: 'POST', headers: {
            'Content-Type': 'application/json', 'X-CSRF-Token': state.csrf},
            body: JSON.stringify({spacecraft: 'sc1', command: 'adcs.noop', args: {}})});
        const a = await fetch('/api/archive?spacecraft=sc1&name=eps.hk.soc_pct');
        return [r.status, (await r.json()).error, a.status];
    }""")
    assert forged[0] == 422 and "may not command" in forged[1] and forged[2] == 403
    shot(page, "partner")
    page.close()


def test_a_dropped_websocket_reconnects_and_catches_up(console, browser):
    base, _ = console
    page = open_console(browser, base, "ops", "operator-pass-1")
    page.wait_for_function("state.values.size > 0", timeout=90_000)
    notes_before = page.evaluate("state.notes.length")
    page.evaluate("state.ws.close()")
    page.wait_for_selector("#conn:not(.live)")
    page.wait_for_selector("#conn.live")
    t = page.evaluate("Math.max(...[...state.values.values()].map(v => v[2]))")
    page.wait_for_function(
        "t => Math.max(...[...state.values.values()].map(v => v[2])) > t", arg=t)
    # Notifications are not shown twice after catching up.
    seqs = page.evaluate("state.notes.map(n => n[0])")
    assert len(seqs) == len(set(seqs)) and len(seqs) >= notes_before
    # The telemetry table draws only the rows in view; scrolled to its end it shows the
    # last parameter, and every drawn row is a parameter the page holds.
    tab(page, "telemetry")
    last = page.evaluate("[...state.values.keys()].sort().at(-1)")
    assert page.locator(f"tr[data-param='{last}']").count() == 0
    page.evaluate("$('tm-scroll').scrollTop = 1e9")
    page.locator(f"tr[data-param='{last}']").wait_for()
    drawn = page.eval_on_selector_all("#tm-table tr[data-param]",
                                      "rs => rs.map(r => r.dataset.param)")
    assert len(drawn) < page.evaluate("state.values.size")
    assert page.evaluate("keys => keys.every(k => state.values.has(k))", drawn)
    page.close()


def archive_rows(db: Path, scid: int, name: str, t0: float, t1: float) -> list[list[str]]:
    """[name, time, value] rows with t0 <= t < t1 of the role's archive file, read with
    sqlite3 itself (the console's range is half-open, like the archive's)."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
        rows = con.execute("SELECT s.t, s.eng FROM samples s JOIN names n ON s.param = n.id "
                           "WHERE s.scid = ? AND n.name = ? AND s.t >= ? AND s.t < ? "
                           "ORDER BY s.t", (scid, name, t0, t1)).fetchall()
    return [[name, str(t), str(v)] for t, v in rows]


def test_the_archive_downloads_the_picked_parameters_and_range_as_csv(console, browser):
    base, work = console
    scid = json.loads((work / "sim" / "fleet.json").read_text())["spacecraft"][0]["scid"]
    db = work / "archives" / "operator.db"
    names = ["sample.hk.output_cnt", "eps.hk.soc_pct"]
    page = open_console(browser, base, "ops", "operator-pass-1")
    tab(page, "archive")
    page.select_option("#ar-names", names)
    for _ in range(120):    # until the archive holds some housekeeping (a plot commits it)
        page.click("#ar-plot")
        page.wait_for_timeout(500)
        times = [float(r[1]) for r in archive_rows(db, scid, names[0], 0, 1e18)]
        if len(times) >= 6:
            break
    else:
        pytest.fail("no housekeeping reached the archive")
    t0, t1 = times[1], times[len(times) // 2]     # a range inside what came down
    page.fill("#ar-from", repr(t0))
    page.fill("#ar-to", repr(t1))
    with page.expect_download() as info:
        page.click("#ar-csv")
    download = info.value
    assert download.suggested_filename.endswith(".csv")
    with open(download.path(), newline="") as fh:
        header, *rows = list(csv.reader(fh))
    assert header == ["parameter", "onboard_time_s", "value"]
    expected = [row for n in names for row in archive_rows(db, scid, n, t0, t1)]
    assert sorted(rows) == sorted(expected) and len(rows) >= 2 * 2
    assert {r[0] for r in rows} == set(names)
    assert all(t0 <= float(r[1]) < t1 for r in rows)
    page.close()


def test_the_page_runs_under_its_own_content_security_policy(console, browser):
    """Without the test-only CSP bypass: the page logs in, goes live and draws the pass
    timeline and the telemetry table, and the browser reports no CSP violation."""
    base, _ = console
    page = browser.new_page(viewport={"width": 1200, "height": 800})
    page.set_default_timeout(60_000)
    complaints: list[str] = []
    page.on("console", lambda m: complaints.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: complaints.append(str(e)))
    page.goto(base + "/")
    page.fill("#login-user", "ops")
    page.fill("#login-password", "operator-pass-1")
    page.click("#login-button")
    page.wait_for_selector("#conn.live")
    page.wait_for_selector("#pass-table td.timeline .pass", state="attached")
    tab(page, "telemetry")
    page.wait_for_selector("#tm-table tr[data-param]")
    assert not [c for c in complaints if "Content Security Policy" in c or "Refused" in c], \
        complaints
    page.close()

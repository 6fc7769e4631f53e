// Tessera web console: plain JavaScript, no build step. The server enforces every
// right; the checks here only spare the operator a round trip.
"use strict";

const state = { me: null, csrf: "", ws: null, since: 0, values: new Map(), notes: [],
  rows: null, tmKeys: [], fleet: [], chartName: null, chartPoints: [], retry: 500 };
const $ = (id) => document.getElementById(id);

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}

async function api(path, body) {
  const opts = body === undefined ? {} : { method: "POST", body: JSON.stringify(body),
    headers: { "Content-Type": "application/json", "X-CSRF-Token": state.csrf } };
  const r = await fetch(path, opts);
  const data = await r.json().catch(() => ({ error: `HTTP ${r.status}` }));
  if (!r.ok) throw new Error(data.error || `HTTP ${r.status}`);
  return data;
}

function fmtTime(wall) { return wall ? new Date(wall * 1000).toISOString().slice(11, 19) : "-"; }
function fmtVal(v) {
  if (v === null || v === undefined) return "-";
  if (typeof v === "number" && !Number.isInteger(v)) return v.toPrecision(6);
  return String(v);
}

// -- login -------------------------------------------------------------------------
$("login-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  $("login-error").textContent = "";
  try {
    await api("/api/login", { user: $("login-user").value, password: $("login-password").value });
    await start();
  } catch (e) { $("login-error").textContent = e.message; }
});

$("logout").addEventListener("click", async () => {
  try { await api("/api/logout", {}); } catch (e) { /* already gone */ }
  location.reload();
});

async function start() {
  state.me = await api("/api/me");
  state.csrf = state.me.csrf;
  $("who").textContent = `${state.me.user} (${state.me.role})`;
  $("login-view").hidden = true;
  $("console").hidden = false;
  $("logout").hidden = false;
  buildCommanding();
  buildArchive();
  connect();
}

// -- tabs --------------------------------------------------------------------------
for (const b of document.querySelectorAll(".tab")) {
  b.addEventListener("click", () => {
    for (const o of document.querySelectorAll(".tab")) o.classList.toggle("active", o === b);
    for (const p of document.querySelectorAll(".pane")) p.hidden = p.id !== b.dataset.tab;
    if (b.dataset.tab === "telemetry" && state.me) drawVisibleRows();
  });
}

// -- live data ---------------------------------------------------------------------
function connect() {
  const proto = location.protocol === "https:" ? "wss" : "ws";
  const ws = new WebSocket(`${proto}://${location.host}/ws`);
  state.ws = ws;
  ws.onopen = () => {
    state.retry = 500;
    ws.send(JSON.stringify({ since: state.since }));
    $("conn").textContent = "live";
    $("conn").classList.add("live");
  };
  ws.onmessage = (m) => update(JSON.parse(m.data));
  ws.onclose = (ev) => {
    $("conn").classList.remove("live");
    if (ev.code === 4401) { $("conn").textContent = "logged out"; return; }
    $("conn").textContent = "reconnecting...";
    setTimeout(connect, state.retry);   // catches up: the server resends what is newer
    state.retry = Math.min(state.retry * 2, 8000);
  };
}

// The server pushes what changed as it arrives: values newer than the page has, new
// notifications, and the fleet and command table only when they changed.
function update(msg) {
  if (msg.fleet) { state.fleet = msg.fleet; renderFleet(msg.fleet); renderPasses(msg.fleet); }
  let added = false;
  for (const [sc, name, t, v, lim] of msg.values) {
    const key = `${sc}/${name}`;
    if (!state.values.has(key)) added = true;
    state.values.set(key, [sc, name, t, v, lim]);
  }
  if (added) renderValues();
  else updateValues(msg.values);
  for (const n of msg.notes) { state.notes.push(n); state.since = n[0]; }
  if (state.notes.length > 2000) state.notes.splice(0, state.notes.length - 2000);
  if (msg.notes.length) renderNotes();
  if (msg.commands) renderCommands(msg.commands);
  if (state.chartName) {
    const row = state.values.get(state.chartName);
    const last = state.chartPoints[state.chartPoints.length - 1];
    if (row && typeof row[3] === "number" && (!last || last[0] !== row[2])) {
      state.chartPoints.push([row[2], row[3]]);
      if (state.chartPoints.length > 600) state.chartPoints.shift();
      drawChart($("live-chart"), { [state.chartName]: state.chartPoints });
    }
  }
}

function renderFleet(fleet) {
  const body = $("fleet-table").tBodies[0];
  body.replaceChildren();
  for (const s of fleet) {
    const tr = el("tr");
    tr.dataset.spacecraft = s.name;
    const now = s.onboard_s || 0;
    const next = s.passes.find((p) => p[1] > now);
    tr.append(el("td", s.name), el("td", "0x" + s.scid.toString(16)),
      el("td", s.link_error ? `${s.link}: ${s.link_error}` : s.link, "link"),
      el("td", fmtTime(s.last_contact)), el("td", fmtVal(s.onboard_s)),
      el("td", fmtVal(s.mode)), el("td", s.battery === null ? "-" : `${fmtVal(s.battery)} %`),
      el("td", fmtVal(s.attitude)),
      el("td", next ? `${next[0].toFixed(0)} / ${next[1].toFixed(0)}` : "-"));
    body.append(tr);
  }
}

const TIMELINE_S = 3 * 3600;
function renderPasses(fleet) {
  const body = $("pass-table").tBodies[0];
  body.replaceChildren();
  for (const s of fleet) {
    const now = s.onboard_s || 0;
    for (const [station, spans] of Object.entries(s.stations).sort()) {
      const next = spans.find((p) => p[1] > now);
      const tr = el("tr");
      tr.dataset.spacecraft = s.name;
      tr.dataset.station = station;
      let status = "no pass predicted";
      if (next) status = next[0] <= now ? "in pass" : `AOS in ${Math.round((next[0] - now) / 60)} min`;
      const bar = el("td", undefined, "timeline");
      for (const [a, b] of spans) {
        if (b <= now || a >= now + TIMELINE_S) continue;
        const span = el("span", undefined, "pass");
        const x0 = Math.max(a, now) - now, x1 = Math.min(b, now + TIMELINE_S) - now;
        span.style.left = `${100 * x0 / TIMELINE_S}%`;
        span.style.width = `${Math.max(0.5, 100 * (x1 - x0) / TIMELINE_S)}%`;
        span.title = `${station}: AOS ${a.toFixed(0)} s, LOS ${b.toFixed(0)} s`;
        bar.append(span);
      }
      tr.append(el("td", s.name), el("td", station),
        el("td", next ? next[0].toFixed(0) : "-", "aos"), el("td", next ? next[1].toFixed(0) : "-", "los"),
        el("td", status, "pass-status"), bar);
      body.append(tr);
    }
  }
}

// The table is virtual: it holds only the rows in view of its scroll box (and a few
// around), so a push costs the same with 80 or 8000 parameters. The row list is
// sorted again only when parameters appear or the filter changes; a push then
// rewrites only the cells of the values it carries.
let rowH = 22;   // px, every row's height (style.css), measured once drawn
function renderValues() {
  const filter = $("tm-filter").value.trim();
  state.tmKeys = [...state.values.keys()]
    .filter((k) => !filter || state.values.get(k)[1].includes(filter)).sort();
  drawVisibleRows();
}

function spacer(rows) {
  const tr = el("tr", undefined, "spacer");
  const td = el("td");
  td.colSpan = 6;
  td.style.height = `${rows * rowH}px`;
  tr.append(td);
  return tr;
}

function drawVisibleRows() {
  const box = $("tm-scroll");
  const body = $("tm-table").tBodies[0];
  const keys = state.tmKeys || [];
  const first = Math.max(0, Math.floor(box.scrollTop / rowH) - 10);
  const last = Math.min(keys.length, first + Math.ceil((box.clientHeight || 600) / rowH) + 20);
  const params = state.me.parameters;
  state.rows = new Map();
  const trs = [spacer(first)];
  for (const key of keys.slice(first, last)) {
    const row = state.values.get(key);
    const [sc, name] = row;
    const base = params[name] ? name : name.replace(/_\d+$/, "");
    const unit = params[base] ? params[base].unit : "";
    const tr = el("tr");
    tr.dataset.param = key;
    tr.append(el("td", sc), el("td", name), el("td"), el("td", unit), el("td"), el("td"));
    fillRow(tr, row);
    tr.addEventListener("click", () => { state.chartName = key; state.chartPoints = []; });
    trs.push(tr);
    state.rows.set(key, tr);
  }
  trs.push(spacer(keys.length - last));
  body.replaceChildren(...trs);
  const drawn = trs.length > 2 ? trs[1].getBoundingClientRect().height : 0;
  if (drawn > 0 && Math.abs(drawn - rowH) > 0.5) { rowH = drawn; drawVisibleRows(); }
}
$("tm-scroll").addEventListener("scroll", drawVisibleRows);

function fillRow(tr, [, , t, v, lim]) {
  const c = tr.cells;
  c[2].textContent = fmtVal(v);
  c[2].className = `value limit-${lim}`;
  c[4].textContent = fmtVal(t);
  c[5].textContent = lim;
  c[5].className = `limit-${lim}`;
}

function updateValues(values) {
  if (!state.rows) return;
  for (const [sc, name] of values) {
    const key = `${sc}/${name}`;
    const tr = state.rows.get(key);
    if (tr) fillRow(tr, state.values.get(key));
  }
}
$("tm-filter").addEventListener("input", renderValues);

// PUS ST[5] severities (ECSS-E-ST-70-41C): a flight event's is the one its app declares.
const SEVERITY = { 1: "INFO", 2: "LOW", 3: "MEDIUM", 4: "HIGH" };
function renderNotes() {
  const body = $("ev-table").tBodies[0];
  const kindWanted = $("ev-kind").value;
  const atLeast = Number($("ev-severity").value);
  body.replaceChildren();
  for (const [, wall, kind, severity, text] of state.notes.slice().reverse()) {
    if (severity < atLeast || (kindWanted !== "all" && kind !== kindWanted)) continue;
    const name = SEVERITY[severity] || String(severity);
    const tr = el("tr", undefined, `kind-${kind} severity-${name}`);
    tr.append(el("td", fmtTime(wall)), el("td", name, "severity"), el("td", kind), el("td", text));
    body.append(tr);
    if (body.rows.length >= 300) break;
  }
}
$("ev-kind").addEventListener("change", renderNotes);
$("ev-severity").addEventListener("change", renderNotes);

function renderCommands(cmds) {
  const body = $("cmd-table").tBodies[0];
  body.replaceChildren();
  for (const c of cmds.slice().reverse()) {
    const tr = el("tr");
    tr.dataset.requestId = c.request_id;
    const stages = Object.entries(c.stages).map(([k, v]) => `${k}: ${v}`).join(", ");
    tr.append(el("td", fmtTime(c.sent)), el("td", c.user), el("td", c.spacecraft),
      el("td", c.text), el("td", c.status, `status status-${c.status}`), el("td", stages || "-"));
    body.append(tr);
  }
}

// -- commanding --------------------------------------------------------------------
function fillSelect(sel, items) {
  sel.replaceChildren(...items.map((t) => { const o = el("option", t); o.value = t; return o; }));
}

function buildCommanding() {
  fillSelect($("cmd-sc"), state.me.spacecraft);
  fillSelect($("cmd-name"), state.me.commands.map((c) => c.name));
  $("cmd-name").addEventListener("change", buildArgs);
  buildArgs();
}

function currentCommand() { return state.me.commands.find((c) => c.name === $("cmd-name").value); }

function buildArgs() {
  const c = currentCommand();
  const box = $("cmd-args");
  box.replaceChildren();
  $("cmd-doc").textContent = c ? c.doc + (c.critical ? " (critical: asks to confirm)" : "") : "";
  if (!c) return;
  for (const a of c.args) {
    const label = el("label", `${a.name} `);
    let input;
    if (a.enum) {
      input = el("select");
      fillSelect(input, Object.values(a.enum));
    } else {
      input = el("input");
      input.type = "number";
      input.step = a.type.startsWith("f") ? "any" : "1";
      if (a.low !== null) input.min = a.low;
      if (a.high !== null) input.max = a.high;
      input.required = true;
    }
    input.name = a.name;
    input.dataset.arg = a.name;
    input.title = a.doc || "";
    const range = a.enum ? "" : ` [${a.low ?? "-"}, ${a.high ?? "-"}]`;
    label.append(input, el("span", ` ${a.type}${range} ${a.unit || ""}`, "hint"));
    box.append(label);
  }
}

function confirmSend(text) {
  return new Promise((resolve) => {
    const d = $("confirm");
    $("confirm-text").textContent = `Send the critical command ${text}?`;
    const done = (v) => { d.close(); resolve(v); };
    $("confirm-yes").onclick = (e) => { e.preventDefault(); done(true); };
    $("confirm-no").onclick = (e) => { e.preventDefault(); done(false); };
    d.showModal();
  });
}

$("cmd-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  $("cmd-error").textContent = "";
  const c = currentCommand();
  if (!c) return;
  if (!$("cmd-form").checkValidity()) {
    $("cmd-error").textContent = "check the highlighted values (type and range)";
    $("cmd-form").reportValidity();
    return;
  }
  const args = {};
  for (const i of $("cmd-args").querySelectorAll("[data-arg]")) args[i.dataset.arg] = i.value;
  const body = { spacecraft: $("cmd-sc").value, command: c.name, args };
  const rel = $("cmd-release").value;
  if (rel !== "") body.release_s = Number(rel);
  if (c.critical) {
    if (!(await confirmSend(c.name))) return;
    body.confirm = true;
  }
  try { await api("/api/command", body); } catch (e) { $("cmd-error").textContent = e.message; }
});

// -- archive -----------------------------------------------------------------------
function buildArchive() {
  fillSelect($("ar-sc"), state.me.spacecraft);
  fillSelect($("ar-names"), Object.keys(state.me.parameters).sort());
}

function archiveQuery() {
  const q = new URLSearchParams();
  q.set("spacecraft", $("ar-sc").value);
  for (const o of $("ar-names").selectedOptions) q.append("name", o.value);
  q.set("from", $("ar-from").value || "0");
  if ($("ar-to").value) q.set("to", $("ar-to").value);
  return q;
}

$("ar-plot").addEventListener("click", async () => {
  $("ar-error").textContent = "";
  try {
    const data = await api("/api/archive?" + archiveQuery());
    drawChart($("ar-chart"), data.series);
  } catch (e) { $("ar-error").textContent = e.message; }
});
$("ar-csv").addEventListener("click", (ev) => {
  ev.preventDefault();
  const q = archiveQuery();
  q.set("format", "csv");
  location.href = "/api/archive?" + q;
});

// -- charts: a small canvas line plot --------------------------------------------------
const COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"];
function drawChart(canvas, series) {
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  const pts = Object.values(series).flat().filter((p) => typeof p[1] === "number");
  if (!pts.length) { ctx.fillText("no samples", 10, 20); return; }
  const xs = pts.map((p) => p[0]), ys = pts.map((p) => p[1]);
  const x0 = Math.min(...xs), x1 = Math.max(...xs) || x0 + 1;
  let y0 = Math.min(...ys), y1 = Math.max(...ys);
  if (y0 === y1) { y0 -= 1; y1 += 1; }
  const W = canvas.width - 60, H = canvas.height - 30;
  const px = (x) => 50 + (x - x0) / ((x1 - x0) || 1) * W;
  const py = (y) => 10 + (1 - (y - y0) / (y1 - y0)) * H;
  ctx.fillStyle = "#000";
  ctx.fillText(fmtVal(y1), 2, 14); ctx.fillText(fmtVal(y0), 2, H + 10);
  ctx.fillText(`${fmtVal(x0)} s`, 50, H + 25); ctx.fillText(`${fmtVal(x1)} s`, W, H + 25);
  Object.entries(series).forEach(([name, ps], i) => {
    ctx.strokeStyle = COLOURS[i % COLOURS.length];
    ctx.beginPath();
    ps.forEach(([x, y], j) => (j ? ctx.lineTo(px(x), py(y)) : ctx.moveTo(px(x), py(y))));
    ctx.stroke();
    ctx.fillStyle = ctx.strokeStyle;
    ctx.fillText(name, 60, 20 + 12 * i);
  });
}

// A page reloaded while logged in goes straight to the console.
api("/api/me").then(() => start()).catch(() => {});

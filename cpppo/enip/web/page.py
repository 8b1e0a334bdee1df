"""The live page served at ``/``: plain HTML, CSS and a little JavaScript, served by the package.

It asks the JSON API (``fetch('api')``: relative, so that it also works where a plant mounts it,
``/<name>/``) twice a second and shows the controller:
its tags (the selected tag's elements a page at a time, read with
``tags/<name>/attribute[a:b]``), the client connections and their request counts,
the reply delay, and the request rate (from ``server/statistics``); when the controller
runs a program, its mode, scans and routines (``server/logic``), with buttons to switch mode.  Its forms POST
to the same API: write an element, set the delay, force (or clear) a tag's
error, close connections, disable the server.  Nothing is fetched from anywhere
else (no CDN, no build step), and every value is put in the page as text, never
as HTML.
"""

__all__ = ["PAGE"]

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>cpppo EtherNet/IP simulator</title>
<link rel="icon" href="data:,">
<style>
 body { font-family: system-ui, sans-serif; margin: 1em 2em; color: #222; background: #fafafa; }
 h1 { font-size: 1.3em; margin: 0 0 .3em 0; }
 h2 { font-size: 1.05em; margin: 1.2em 0 .4em 0; border-bottom: 1px solid #ccc; }
 table { border-collapse: collapse; }
 th, td { border: 1px solid #ddd; padding: .2em .6em; text-align: right; font-variant-numeric: tabular-nums; }
 th { background: #eee; }
 td.name, th.name { text-align: left; }
 #status { padding: .3em .6em; border-radius: 4px; display: inline-block; }
 .ok { background: #dfd; } .bad { background: #fdd; } .off { background: #eee; }
 #message { font-family: monospace; font-size: .9em; min-height: 1.2em; color: #555; }
 #values td { min-width: 3.5em; }
 #values td.index { color: #888; background: #f4f4f4; }
 form { display: inline-block; margin: .2em 1em .2em 0; }
 input { width: 6em; }
 .flash { background: #ffd; }
</style>
</head>
<body>
<h1>cpppo EtherNet/IP simulator <span id="product"></span></h1>
<div><span id="status" class="off">connecting...</span>
 <span id="rate">-</span> requests/s, <span id="requests">-</span> requests,
 <span id="clients">-</span> clients, up <span id="uptime">-</span> s</div>
<div id="message"></div>

<h2>Options</h2>
<form id="delay-form">reply delay <input id="delay-value" name="value"> s
 <button id="delay-submit">Set</button> <span id="delay-now"></span></form>
<form id="disable-form"><button id="disable-submit">Disable server</button></form>

<div id="program-section" hidden>
<h2>Program</h2>
<div>mode <span id="logic-mode" class="off">-</span>, <span id="logic-scans">-</span> scans, last
 <span id="logic-last">-</span> ms, longest <span id="logic-max">-</span> ms <span id="logic-fault"></span></div>
<form id="mode-form"><button id="mode-run" type="button">Run</button>
 <button id="mode-program" type="button">Program</button>
 <button id="fault-clear" type="button">Clear fault</button></form>
<table id="routines"><thead><tr><th class="name">program</th><th class="name">routine</th>
 <th class="name">state</th><th>calls</th><th class="name">why idle</th></tr></thead><tbody></tbody></table>
</div>

<h2>Tags</h2>
<table id="tags"><thead><tr><th class="name">tag</th><th class="name">type</th><th>error</th>
 <th class="name">value</th></tr></thead><tbody></tbody></table>
<form id="error-form">force error on <span class="tagname"></span>: status
 <input id="error-value" name="value" value="8"> <button id="error-submit">Set</button>
 <button id="error-clear" type="button">Clear</button></form>

<h2>Elements of <span class="tagname" id="tag-shown"></span></h2>
<div><select id="tag-select"></select>
 <button id="page-prev" type="button">&lt;</button>
 elements <span id="page-range"></span>
 <button id="page-next" type="button">&gt;</button></div>
<table id="values"><tbody></tbody></table>
<form id="write-form">write <span class="tagname"></span>[<input id="write-index" name="index" value="0">]
 = <input id="write-value" name="value" value="1"> <button id="write-submit">Write</button></form>

<h2>Connections</h2>
<table id="connections"><thead><tr><th class="name">connection</th><th class="name">interface</th><th>port</th>
 <th>received</th><th>requests</th><th></th></tr></thead><tbody></tbody></table>
<form id="eof-form"><button id="eof-submit">Close every connection</button></form>

<script>
"use strict";
const PAGE = 50, COLUMNS = 10;
const state = { tag: null, start: 0, length: 0, last: null, disabled: false, tags: {} };
const $ = (id) => document.getElementById(id);

function text(element, value) { element.textContent = value; return element; }
function cell(row, value, cls) {
  const td = row.insertCell(); text(td, value); if (cls) td.className = cls; return td;
}
function path(...parts) { return "api/" + parts.map(encodeURIComponent).join("/"); }

async function api(url, value) {
  const options = value === undefined ? {} : {
    method: "POST", headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: "value=" + encodeURIComponent(value) };
  const response = await fetch(url, Object.assign({ headers: { "Accept": "application/json" } }, options));
  const content = await response.json();
  if (value !== undefined || !response.ok) {
    text($("message"), (content.command && content.command.message) || response.statusText);
  }
  return content;
}

function showTags(tags) {
  const body = $("tags").tBodies[0], select = $("tag-select");
  const names = Object.keys(tags).sort();
  if (state.tag === null && names.length) state.tag = names[0];
  body.replaceChildren();
  for (const name of names) {
    const tag = tags[name], row = body.insertRow();
    cell(row, name, "name"); cell(row, tag.type + (tag.length > 1 ? "[" + tag.length + "]" : ""), "name");
    const err = cell(row, tag.error); if (tag.error) err.className = "bad";
    cell(row, tag.attribute.slice(tag.attribute.indexOf("==") + 3), "name");
    row.onclick = () => choose(name);
  }
  if (select.options.length !== names.length) {
    select.replaceChildren(...names.map((n) => new Option(n, n)));
  }
  select.value = state.tag;
  state.tags = tags;
  state.length = tags[state.tag] ? tags[state.tag].length : 0;
  for (const span of document.getElementsByClassName("tagname")) text(span, state.tag || "");
}

function choose(name) { state.tag = name; state.start = 0; refresh(); }

function showValues(values) {
  const body = $("values").tBodies[0];
  const stop = Math.min(state.start + PAGE, state.length);
  text($("page-range"), state.start + " to " + (stop - 1) + " of " + state.length);
  const old = body.querySelectorAll("td[data-index]"), before = {};
  old.forEach((td) => { before[td.dataset.index] = td.textContent; });
  body.replaceChildren();
  const structured = values.some((v) => typeof v === "object" && v !== null);
  const columns = structured ? 1 : COLUMNS;  // a structure's members take a row of their own
  for (let row = state.start; row < stop; row += columns) {
    const tr = body.insertRow();
    cell(tr, row, "index");
    for (let i = row; i < Math.min(row + columns, stop); i++) {
      const v = values[i - state.start];
      const td = cell(tr, typeof v === "object" ? JSON.stringify(v) : String(v), structured ? "name" : "");
      td.dataset.index = i; td.id = "value-" + i;
      if (i in before && before[i] !== td.textContent) td.className = "flash";
      td.onclick = () => { $("write-index").value = i; $("write-value").value = td.textContent; };
    }
  }
}

function showConnections(connections) {
  const body = $("connections").tBodies[0];
  body.replaceChildren();
  for (const key of Object.keys(connections).sort()) {
    const c = connections[key], row = body.insertRow();
    cell(row, key, "name"); cell(row, c.interface, "name"); cell(row, c.port);
    cell(row, c.received); cell(row, c.requests);
    const button = document.createElement("button"); text(button, "close");
    button.onclick = () => api(path("connections", key, "eof"), "true").then(refresh);
    row.insertCell().appendChild(button);
  }
}

function showLogic(logic) {
  $("program-section").hidden = !logic;
  if (!logic) return;
  text($("logic-mode"), logic.mode).className = logic.mode === "Run" ? "ok" : logic.mode === "Faulted" ? "bad" : "off";
  text($("logic-scans"), logic.scans);
  text($("logic-last"), logic.last_scan_ms); text($("logic-max"), logic.max_scan_ms);
  const minor = logic.minor_faults.length ? logic.minor_faults[logic.minor_faults.length - 1] : null;
  text($("logic-fault"), logic.fault ? "major fault type " + logic.fault.type + " code " + logic.fault.code +
       " at " + logic.fault.where : minor ? "minor fault type " + minor.type + " code " + minor.code : "");
  const body = $("routines").tBodies[0];
  body.replaceChildren();
  for (const r of logic.routines) {
    const row = body.insertRow();
    cell(row, r.program, "name"); cell(row, r.routine, "name");
    cell(row, r.state, "name " + (r.state === "idle" ? "bad" : r.state === "running" ? "ok" : "off"));
    cell(row, r.calls); cell(row, r.problems.join("; "), "name");
  }
}

let busy = false;
async function refresh() {
  if (busy) return;  // a slow answer: skip this turn rather than pile requests up
  busy = true;
  try { await update(); } finally { busy = false; }
}

async function update() {
  let content;
  try { content = await api("api"); } catch (error) {
    text($("status"), "no answer from the simulator").className = "bad"; return;
  }
  const data = content.data, stats = data.server.statistics, control = data.server.control;
  text($("product"), "(" + stats.product_name + ")");
  state.disabled = control.disable;
  text($("status"), control.done ? "stopping" : control.disable ? "disabled" : "serving").className =
    control.disable || control.done ? "bad" : "ok";
  text($("disable-submit"), control.disable ? "Enable server" : "Disable server");
  const now = content.until;
  if (state.last) {
    const rate = (stats.requests - state.last.requests) / Math.max(now - state.last.until, 1e-3);
    text($("rate"), rate.toFixed(1));
  }
  state.last = { requests: stats.requests, until: now };
  text($("requests"), stats.requests); text($("clients"), stats.clients); text($("uptime"), stats.uptime.toFixed(0));
  const delay = data.options.delay;
  text($("delay-now"), "now " + delay.value.toFixed(3) + " s" + (delay.range ? " (range " + delay.range + ")" : ""));
  showLogic(data.server.logic);
  showTags(data.tags || {});
  showConnections(data.connections || {});
  if (state.tag !== null && state.length) {
    state.start = Math.max(0, Math.min(state.start, Math.floor((state.length - 1) / PAGE) * PAGE));
    const stop = Math.min(state.start + PAGE, state.length);
    const read = await api(path("tags", state.tag, "attribute[" + state.start + ":" + stop + "]"));
    if (read.command && read.command.success) showValues(read.command.value);
  }
}

function submit(id, action) {
  $(id).addEventListener("submit", (event) => { event.preventDefault(); action().then(refresh); });
}
submit("write-form", () => api(path("tags", state.tag, "attribute[" + $("write-index").value + "]"),
                                $("write-value").value));
submit("delay-form", () => api(path("options", "delay", "value"), $("delay-value").value));
submit("error-form", () => api(path("tags", state.tag, "error"), $("error-value").value));
submit("disable-form", () => api(path("server", "control", "disable"), state.disabled ? "false" : "true"));
submit("eof-form", () => api(path("connections", "*", "eof"), "true"));
$("mode-run").onclick = () => api(path("server", "logic", "mode"), "run").then(refresh);
$("mode-program").onclick = () => api(path("server", "logic", "mode"), "program").then(refresh);
$("fault-clear").onclick = () => api(path("server", "logic", "clear"), "true").then(refresh);
$("error-clear").onclick = () => api(path("tags", state.tag, "error"), "0").then(refresh);
$("tag-select").onchange = (event) => choose(event.target.value);
$("page-prev").onclick = () => { state.start = Math.max(0, state.start - PAGE); refresh(); };
$("page-next").onclick = () => { if (state.start + PAGE < state.length) state.start += PAGE; refresh(); };
refresh();
setInterval(refresh, 500);
</script>
</body>
</html>
"""

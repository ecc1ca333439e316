// chor playground: the page's behaviour. The server does the work (checking, projecting,
// stepping); this script keeps the editor, the schedule of the run, and draws the answers.
"use strict";

const $ = (id) => document.getElementById(id);
const source = $("source");
const state = {
  version: 0,         // edits so far
  shown: 0,           // the edit whose diagnostics are shown
  inputAt: new Map(), // edit -> time of its input event
  timer: null,
  diagramChor: null,  // the choreography the user picked to draw (null: automatic)
  analysis: null,
  schedule: [],
  runnable: false,
  runs: 0,            // runs drawn so far
  nextLines: new Map(), // line -> roles whose next action is there, in the run shown
};
window.chorLatencies = [];

const KEYWORDS = new Set(["choreography", "fn", "let", "if", "else", "match", "return", "import",
  "struct", "enum", "type", "true", "false", "pub"]);
// The words of the projected programs' syntax (docs/projection.md).
const LOCAL_KEYWORDS = new Set([...KEYWORDS, "proc", "send", "recv", "select", "branch", "call"]);

function esc(s) {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

// Highlight one line of source text (comments and strings never span lines in the language).
function highlightLine(line, keywords = KEYWORDS) {
  const re = /(\/\/.*$)|("(?:\\.|[^"\\])*"?)|\b([A-Za-z_][A-Za-z0-9_]*)\b|\b(\d[\d_]*(?:\.\d+)?)\b/g;
  let out = "", last = 0, m;
  while ((m = re.exec(line)) !== null) {
    out += esc(line.slice(last, m.index));
    const t = esc(m[0]);
    if (m[1]) out += `<span class="tok-com">${t}</span>`;
    else if (m[2]) out += `<span class="tok-str">${t}</span>`;
    else if (m[3] && keywords.has(m[3])) out += `<span class="tok-kw">${t}</span>`;
    else if (m[3] && /^[A-Z]/.test(m[3])) out += `<span class="tok-role">${t}</span>`;
    else if (m[4]) out += `<span class="tok-num">${t}</span>`;
    else out += t;
    last = re.lastIndex;
    if (m[0].length === 0) re.lastIndex++;
  }
  return out + esc(line.slice(last));
}

// Redraw the highlighted copy of the text and the line numbers, marking diagnostic lines.
function paint() {
  const lines = source.value.split("\n");
  const marks = new Map();
  for (const d of (state.analysis && state.shown === state.version ? state.analysis.diagnostics : [])) {
    if (d.line == null) continue;
    for (let l = d.line; l <= (d.end_line || d.line); l++) {
      if (marks.get(l) !== "err") marks.set(l, d.severity === "error" ? "err" : "warn");
    }
  }
  // Lines where a role of the run shown will act next (errors win: a program with errors
  // has no run).
  for (const [line] of state.nextLines) if (!marks.has(line)) marks.set(line, "next");
  $("highlight").innerHTML = lines.map((l, i) => {
    const m = marks.get(i + 1);
    const h = highlightLine(l) || " ";
    return m ? `<span class="line-${m}">${h}</span>` : h;
  }).join("\n") + "\n";
  $("gutter").innerHTML = lines.map((_, i) => {
    const m = marks.get(i + 1);
    if (m === "next") {
      const who = esc(state.nextLines.get(i + 1).join(", "));
      return `<span class="next" title="next action of ${who}">${i + 1}</span>`;
    }
    return m ? `<span class="${m}">${i + 1}</span>` : `${i + 1}`;
  }).join("\n") + "\n";
  source.style.height = "auto";
  source.style.height = source.scrollHeight + "px";
  // As wide as the longest line, or the room beside the line numbers, whichever is more.
  source.style.width = "0px";
  const room = $("editor").clientWidth - $("gutter").offsetWidth;
  source.style.width = Math.max($("highlight").scrollWidth, room) + "px";
}

async function post(url, body) {
  const r = await fetch(url, {method: "POST", headers: {"Content-Type": "application/json"},
                              body: JSON.stringify(body)});
  if (!r.ok) throw new Error(`${url}: ${r.status} ${await r.text()}`);
  return r.json();
}

function setStatus(text) { $("status").textContent = text; }

function onEdit() {
  state.version++;
  state.nextLines = new Map();
  state.inputAt.set(state.version, performance.now());
  paint();
  setStatus("checking…");
  clearTimeout(state.timer);
  state.timer = setTimeout(analyze, 80);
}

async function analyze() {
  const version = state.version;
  const text = source.value;
  let a;
  try {
    a = await post("/api/analyze", {source: text, chor: state.diagramChor});
  } catch (e) {
    setStatus("the server is not answering: " + e.message);
    return;
  }
  if (version !== state.version) return; // a newer edit is on its way
  state.analysis = a;
  state.shown = version;
  renderAnalysis(a);
  paint();
  const t0 = state.inputAt.get(version);
  if (t0 !== undefined) {
    window.chorLatencies.push({version, ms: performance.now() - t0, diagnostics: a.diagnostics.length});
    state.inputAt.delete(version);
  }
  document.body.dataset.analyzed = String(version);
  state.runnable = !a.error && a.errors === 0 && a.projections.length > 0;
  state.schedule = [];
  await run("none");
  // Everything about this edit is on screen (tests wait for this).
  if (version === state.version) document.body.dataset.settled = String(version);
  document.body.dataset.ready = "1";
}

function renderAnalysis(a) {
  if (a.error) { setStatus(a.error); return; }
  const errs = a.errors, warns = a.diagnostics.length - a.errors;
  setStatus(errs ? `${errs} error${errs > 1 ? "s" : ""}` : warns ? `no errors, ${warns} warning${warns > 1 ? "s" : ""}` : "no errors");
  $("diag-summary").textContent = a.diagnostics.length ? `Diagnostics (${a.diagnostics.length})` : "Diagnostics: none";
  const ul = $("diagnostics");
  ul.innerHTML = "";
  for (const d of a.diagnostics) {
    const li = document.createElement("li");
    li.className = "sev-" + d.severity;
    li.dataset.line = d.line == null ? "" : String(d.line);
    li.dataset.severity = d.severity;
    li.dataset.code = d.code;
    const b = document.createElement("button");
    const where = d.file ? `in ${d.file}: ` : d.line == null ? "" : `line ${d.line}: `;
    b.innerHTML = `${where}<span class="code">${esc(d.code)}</span> ${esc(d.message)}`;
    b.setAttribute("aria-label", `${d.severity} ${d.code} at ${where}${d.message}`);
    b.addEventListener("click", () => goToLine(d.line, d.col));
    li.appendChild(b);
    const extra = [...d.labels.slice(1).filter((l) => l.message).map((l) => (l.line ? `line ${l.line}: ` : "") + l.message),
                   ...d.notes, ...(d.help ? ["help: " + d.help] : [])];
    for (const x of extra) {
      const s = document.createElement("span");
      s.className = "help";
      s.textContent = x;
      li.appendChild(s);
    }
    ul.appendChild(li);
  }
  // Projections, side by side.
  const sel = $("proj-role");
  const keep = sel.value;
  sel.innerHTML = `<option value="">All roles</option>` +
    a.projections.map((p) => `<option>${esc(p.role)}</option>`).join("");
  if ([...sel.options].some((o) => o.value === keep)) sel.value = keep;
  $("proj-error").textContent = a.projection_error || "";
  renderProjections();
  // The diagram.
  const dsel = $("diagram-chor");
  dsel.innerHTML = a.choreographies.map((c) => `<option>${esc(c)}</option>`).join("");
  if (a.diagram_of) dsel.value = a.diagram_of;
  $("diagram-error").textContent = a.diagram_error || (a.errors ? "The red notes mark where the errors are." : "");
  $("diagram").innerHTML = a.diagram || "";
}

function renderProjections() {
  const a = state.analysis;
  if (!a) return;
  const role = $("proj-role").value;
  $("projections").innerHTML = a.projections.filter((p) => !role || p.role === role).map((p) =>
    `<figure><figcaption>${esc(p.role)}</figcaption><pre>${highlightLines(p.text)}</pre></figure>`).join("");
}

function highlightLines(t) { return t.split("\n").map((l) => highlightLine(l, LOCAL_KEYWORDS)).join("\n"); }

function goToLine(line, col) {
  if (!line) return;
  const lines = source.value.split("\n");
  let off = 0;
  for (let i = 0; i < line - 1 && i < lines.length; i++) off += lines[i].length + 1;
  off += Math.max(0, (col || 1) - 1);
  source.focus();
  source.setSelectionRange(off, off);
}

// ------------------------------------------------------------------ the simulator

async function run(then, role) {
  const controls = ["sim-restart", "sim-undo", "sim-end", "sim-random"];
  if (!state.runnable) {
    $("outcome").className = "";
    $("outcome").textContent = state.analysis && state.analysis.errors
      ? "Fix the errors to run the program." : "Nothing to run.";
    $("roles").innerHTML = ""; $("channels").innerHTML = ""; $("output").textContent = "";
    $("run-diagram").innerHTML = "";
    state.nextLines = new Map();
    for (const c of controls) $(c).disabled = true;
    document.body.dataset.runSteps = "0";
    document.body.dataset.outcome = "none";
    document.body.dataset.runs = String(++state.runs);
    return;
  }
  const version = state.version;
  let r;
  try {
    r = await post("/api/run", {source: source.value, schedule: state.schedule, then, role,
                                seed: Math.floor(Math.random() * 2147483647) + 1});
  } catch (e) {
    $("outcome").textContent = "the server is not answering: " + e.message;
    return;
  }
  if (version !== state.version) return;
  if (r.error) {
    $("outcome").className = "failed";
    $("outcome").textContent = r.error;
    return;
  }
  state.schedule = r.schedule;
  renderRun(r);
}

function renderRun(r) {
  const o = $("outcome");
  o.className = r.outcome.kind;
  o.textContent = `After ${r.schedule.length} step${r.schedule.length === 1 ? "" : "s"}: ${r.outcome.text}.`;
  // Redrawing the roles would drop the keyboard focus of a step button: remember whose it was.
  const active = document.activeElement;
  const focusedRole = active && active.classList.contains("step") ? active.dataset.role : null;
  const box = $("roles");
  box.innerHTML = "";
  for (const v of r.roles) {
    const div = document.createElement("div");
    div.className = "role" + (v.enabled ? " enabled" : "") + (v.status === "failed" ? " failed" : "");
    div.dataset.role = v.role;
    const h = document.createElement("h3");
    h.textContent = v.role;
    const b = document.createElement("button");
    b.className = "step";
    b.textContent = `Step ${v.role}`;
    b.setAttribute("aria-label", `Step role ${v.role}` + (v.next ? `: ${v.next.text}` : ""));
    b.disabled = !v.enabled;
    b.dataset.role = v.role;
    b.addEventListener("click", () => run("step", v.role));
    h.appendChild(b);
    div.appendChild(h);
    const next = document.createElement("div");
    next.className = "next";
    if (v.status === "done") next.textContent = "finished";
    else if (v.status === "failed") next.textContent = `failed${v.fault_line ? ` at line ${v.fault_line}` : ""}: ${v.fault}`;
    else if (v.next) {
      const wait = v.enabled ? "" : " (waiting for a message)";
      const within = v.next.within ? ` in ${v.next.within}` : "";
      next.textContent = `next: ${v.next.text}${within}${wait}`;
      if (v.next.line) {
        // The line is a button: it puts the editor's cursor on the statement.
        const go = document.createElement("button");
        go.className = "goto";
        go.textContent = `line ${v.next.line}`;
        go.setAttribute("aria-label", `Show line ${v.next.line}, the next action of ${v.role}, in the editor`);
        go.addEventListener("click", () => goToLine(v.next.line, 1));
        next.append(" — ", go);
      }
    }
    div.appendChild(next);
    if (v.vars.length) {
      const ul = document.createElement("ul");
      ul.className = "vars";
      ul.setAttribute("aria-label", `variables of ${v.role}`);
      ul.innerHTML = v.vars.map(([n, x]) => `<li>${esc(n)} = ${esc(x)}</li>`).join("");
      div.appendChild(ul);
    }
    box.appendChild(div);
  }
  $("channels").innerHTML = r.channels.length
    ? r.channels.map((c) => `<li>${esc(c.from)} → ${esc(c.to)}: ${c.messages.map(esc).join(", ")}</li>`).join("")
    : "<li>none</li>";
  $("output").textContent = r.output.map(([role, line]) => `[${role}] ${line}`).join("\n");
  $("run-diagram").innerHTML = r.diagram;
  const anyEnabled = r.roles.some((v) => v.enabled);
  $("sim-restart").disabled = r.schedule.length === 0;
  $("sim-undo").disabled = r.schedule.length === 0;
  $("sim-end").disabled = !anyEnabled;
  $("sim-random").disabled = !anyEnabled;
  state.nextLines = new Map();
  for (const v of r.roles) {
    if (v.status === "running" && v.next && v.next.line) {
      const at = state.nextLines.get(v.next.line) || [];
      state.nextLines.set(v.next.line, [...at, v.role]);
    }
  }
  paint();
  if (focusedRole !== null) {
    // The same role's button if it can still move, else the next one that can, else the
    // run controls.
    const buttons = [...box.querySelectorAll(".step")];
    const same = buttons.find((b) => b.dataset.role === focusedRole && !b.disabled);
    const next = same || buttons.find((b) => !b.disabled) || $("sim-restart");
    next.focus();
  }
  document.body.dataset.runSteps = String(r.schedule.length);
  document.body.dataset.outcome = r.outcome.kind;
  document.body.dataset.runs = String(++state.runs);
}

// ------------------------------------------------------------------ wiring

function selectTab(id) {
  for (const t of document.querySelectorAll('[role="tab"]')) {
    const on = t.id === id;
    t.setAttribute("aria-selected", String(on));
    t.tabIndex = 0;
    $(t.getAttribute("aria-controls")).hidden = !on;
  }
}

function loadSource(text) {
  source.value = text;
  state.diagramChor = null;
  onEdit();
}

async function init() {
  source.addEventListener("input", onEdit);
  for (const t of document.querySelectorAll('[role="tab"]')) t.addEventListener("click", () => selectTab(t.id));
  $("proj-role").addEventListener("change", renderProjections);
  $("diagram-chor").addEventListener("change", () => { state.diagramChor = $("diagram-chor").value; analyze(); });
  $("sim-restart").addEventListener("click", () => { state.schedule = []; run("none"); });
  $("sim-undo").addEventListener("click", () => { state.schedule = state.schedule.slice(0, -1); run("none"); });
  $("sim-end").addEventListener("click", () => run("end"));
  $("sim-random").addEventListener("click", () => run("random"));
  let examples = [];
  try { examples = await (await fetch("/api/examples")).json(); } catch (e) { setStatus("cannot load the examples"); }
  const nav = $("examples");
  for (const ex of examples) {
    const b = document.createElement("button");
    b.textContent = ex.name;
    b.setAttribute("aria-label", `Load the example ${ex.name}`);
    b.addEventListener("click", () => loadSource(ex.source));
    nav.appendChild(b);
  }
  const first = examples.find((e) => e.name === "ping_pong") || examples[0];
  loadSource(first ? first.source : "choreography main(A, B) {\n}\n");
}

init();

// The run page: the run's facts and actions, its stage graph with each
// stage's live state, and per stage its attempts, links, artifacts and
// log. Live: the run's event stream (SSE) triggers a refresh at each
// journal event, and the page also polls the run every 2 s; a running
// stage's log arrives over its log stream (SSE), a stopped stage shows
// its latest attempt's log tail.
import { el, svg, link, rendered, age, duration, cost, runState, badge, getJson, postJson, status, every } from "/assets/common.js";

const id = decodeURIComponent(location.pathname.split("/").pop());
const api = `/api/runs/${encodeURIComponent(id)}`;
const LIVE_RUN = new Set(["queued", "starting", "pending", "running"]);
const LIVE_STAGE = new Set(["running", "waiting"]);
/** Most log streams open at once (a browser allows 6 connections to a host). */
const MAX_STREAMS = 3;
/** Most log lines kept per stage. */
const MAX_LINES = 500;

let run = null;
let flow = null;
let events = null;
const cards = new Map();
/** Approvals asked and not yet decided, by stage: `{visit, attempt,
 * decisions}`, from the journal's `approval_requested` events (the run's
 * JSON shows such a stage as `running`). */
const approvals = new Map();

document.title = `flow — run ${id}`;
document.getElementById("run-id").textContent = id;

// ---- the graph -------------------------------------------------------

/** Columns of stage names: each stage one column right of the stages it
 * depends on (longest path), back edges of loops ignored. */
function layers(names, edges) {
  const out = new Map(names.map((n) => [n, []]));
  for (const e of edges) if (out.has(e.from) && out.has(e.to)) out.get(e.from).push(e.to);
  // Drop the edges that close a cycle (routes back to an earlier stage).
  const forward = new Map(names.map((n) => [n, []]));
  const mark = new Map();
  const visit = (n) => {
    mark.set(n, 1);
    for (const m of out.get(n)) {
      if (mark.get(m) === 1) continue;
      forward.get(n).push(m);
      if (!mark.has(m)) visit(m);
    }
    mark.set(n, 2);
  };
  names.forEach((n) => mark.has(n) || visit(n));
  const order = [];
  const seen = new Set();
  const post = (n) => {
    seen.add(n);
    forward.get(n).forEach((m) => seen.has(m) || post(m));
    order.push(n);
  };
  names.forEach((n) => seen.has(n) || post(n));
  const layer = new Map(names.map((n) => [n, 0]));
  for (const n of order.reverse()) for (const m of forward.get(n)) layer.set(m, Math.max(layer.get(m), layer.get(n) + 1));
  const columns = [];
  for (const n of names) (columns[layer.get(n)] ||= []).push(n);
  return columns.filter(Boolean);
}

function stageWord(stage) {
  if (!stage) return "pending";
  return awaiting(stage) ? "waiting" : stage.outcome;
}

/** The approval `stage` waits for, if one does: asked for its latest
 * attempt, which has not finished, in a run that goes on. */
function awaiting(stage) {
  const asked = approvals.get(stage.name);
  const last = stage.attempts[stage.attempts.length - 1];
  if (!asked || !last || last.finished || run.state === "finished") return null;
  return asked.visit === last.visit && asked.attempt === last.attempt ? asked : null;
}

/** Sizes of the drawn graph, in px. */
const NODE_W = 168;
const NODE_H = 44;
const GAP_X = 72;
const GAP_Y = 18;

function renderGraph() {
  const byName = new Map((run.stages || []).map((s) => [s.name, s]));
  const names = flow ? [...flow.stages] : [];
  for (const s of run.stages || []) if (!names.includes(s.name)) names.push(s.name);
  const edges = flow ? flow.edges : [];
  const columns = layers(names, edges);
  const tallest = Math.max(1, ...columns.map((c) => c.length));
  const height = tallest * (NODE_H + GAP_Y) + GAP_Y + 28;
  const width = Math.max(1, columns.length) * (NODE_W + GAP_X);
  const at = new Map();
  columns.forEach((column, x) => {
    const top = (height - 28 - column.length * (NODE_H + GAP_Y) + GAP_Y) / 2;
    column.forEach((name, y) => at.set(name, { x: x * (NODE_W + GAP_X) + 8, y: top + y * (NODE_H + GAP_Y), col: x }));
  });
  const lines = [];
  for (const e of edges) {
    const a = at.get(e.from);
    const b = at.get(e.to);
    if (!a || !b) continue;
    const route = e.kind !== "needs";
    let d;
    let label;
    if (b.col > a.col) {
      // Forward: right side to left side.
      const x1 = a.x + NODE_W;
      const y1 = a.y + NODE_H / 2;
      const x2 = b.x;
      const y2 = b.y + NODE_H / 2;
      const mid = (x1 + x2) / 2;
      d = `M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2 - 2},${y2}`;
      label = { x: mid, y: (y1 + y2) / 2 - 4 };
    } else {
      // Back (a loop) or within a column: under the nodes, bottom to bottom.
      const x1 = a.x + NODE_W / 2;
      const y1 = a.y + NODE_H;
      const x2 = b.x + NODE_W / 2 + (a === b ? 24 : 0);
      const y2 = b.y + NODE_H;
      const low = Math.max(y1, y2) + 26;
      d = `M${x1},${y1} C${x1},${low} ${x2},${low} ${x2},${y2 + 2}`;
      label = { x: (x1 + x2) / 2, y: low - 6 };
    }
    lines.push(svg("path", { class: `edge${route ? " route" : ""}`, d, "marker-end": "url(#arrow)",
      "data-from": e.from, "data-to": e.to, "data-kind": e.kind }));
    if (route) lines.push(svg("text", { class: "edge-label", x: label.x, y: label.y, "text-anchor": "middle", text: e.kind }));
  }
  const nodes = names.filter((n) => at.has(n)).map((name) => {
    const s = byName.get(name);
    const word = stageWord(s);
    const p = at.get(name);
    const meta = s ? `${word} · visits ${s.visits} · attempts ${s.attempts.length}` : word;
    return svg("a", { class: `node ${word}`, href: `#stage-${name}`, "data-stage": name, "data-state": word },
      svg("title", { text: `${name}: ${meta}` }),
      svg("rect", { x: p.x, y: p.y, width: NODE_W, height: NODE_H, rx: 6 }),
      svg("text", { class: "name", x: p.x + 10, y: p.y + 18, text: name }),
      svg("text", { class: "meta", x: p.x + 10, y: p.y + 35, text: meta }));
  });
  const defs = svg("defs", {}, svg("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5,
    markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" }, svg("path", { d: "M0,0 L10,5 L0,10 z" })));
  const drawing = svg("svg", { class: "graph-svg", width, height, viewBox: `0 0 ${width} ${height}`,
    role: "img", "aria-label": "stage graph" }, defs, lines, nodes);
  document.getElementById("graph").replaceChildren(drawing);
}

// ---- the run ---------------------------------------------------------

function fact(dl, name, ...value) {
  dl.append(el("dt", { text: name }), el("dd", {}, ...value));
}

function renderRun() {
  const word = runState(run);
  const badgeNode = document.getElementById("run-state");
  badgeNode.className = `state ${word}`;
  badgeNode.textContent = word.replace("_", " ");
  badgeNode.dataset.state = word;
  const dl = document.getElementById("run-facts");
  dl.replaceChildren();
  fact(dl, "flow", run.flow);
  if (run.key) fact(dl, "key", el("code", { text: run.key }));
  if (run.parent) fact(dl, "parent", el("a", { href: `/runs/${encodeURIComponent(run.parent)}` }, el("code", { text: run.parent })));
  if (run.submitted_ms) fact(dl, "submitted", age(run.submitted_ms));
  if (run.started_ms) fact(dl, "started", age(run.started_ms));
  if (run.duration_ms !== undefined && run.duration_ms !== null) fact(dl, "duration", duration(run.duration_ms));
  if (cost(run.usage)) fact(dl, "cost", cost(run.usage));
  if (run.reason) fact(dl, "reason", run.reason);
  const params = Object.entries(run.params || {});
  if (params.length) fact(dl, "params", params.map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`).join("  "));
  document.getElementById("run-description").replaceChildren(rendered(run.description_html));
  document.getElementById("run-links").replaceChildren(...links(run.links));
  document.getElementById("cancel").disabled = !LIVE_RUN.has(run.state);
  document.getElementById("resume").disabled = !(run.state === "interrupted" ||
    (run.state === "finished" && !["succeeded", "skipped"].includes(run.outcome)));
}

function links(map) {
  return Object.entries(map || {}).map(([name, url]) => el("span", { class: "link" }, `${name}: `, link(url)));
}

// ---- the stages ------------------------------------------------------

/** The stage's card, made once (its log and approval form persist). */
function card(name) {
  if (cards.has(name)) return cards.get(name);
  const c = {
    head: el("h3"),
    body: el("div"),
    log: el("pre", { class: "log", "data-log": name }),
    logTitle: el("div", { class: "muted" }),
    lines: [],
    stream: null,
    tailSig: null,
    approve: null,
  };
  const message = el("input", { placeholder: "message (optional)", "aria-label": "message" });
  c.decisions = el("span", { class: "decisions" });
  c.decisionWords = "";
  c.approveResult = el("span", { class: "result" });
  c.decide = (word) => act(`${api}/approve`,
    { stage: name, decision: word, message: message.value || null, by: "dashboard" }, c.approveResult);
  c.approve = el("div", { class: "approve", hidden: true }, "decide: ", c.decisions, message, c.approveResult);
  c.node = el("div", { class: "stage", id: `stage-${name}`, "data-stage": name }, c.head, c.body, c.approve, c.logTitle, c.log);
  cards.set(name, c);
  document.getElementById("stages").append(c.node);
  return c;
}

function attemptRow(a) {
  const flags = ["timed_out", "idle", "over_budget", "cancelled"].filter((f) => a[f]).join(", ");
  return el("tr", {},
    el("td", { class: "num", text: `${a.visit}.${a.attempt}` }),
    el("td", { text: a.finished ? "" : "running" }),
    el("td", { class: "num", text: a.exit_code ?? (a.signal ? `signal ${a.signal}` : "") }),
    el("td", { text: a.status ?? "" }),
    el("td", { class: "num", text: duration(a.duration_ms) }),
    el("td", { class: "num", text: cost(a.usage) }),
    el("td", { text: [flags, a.error].filter(Boolean).join("; ") }));
}

function renderStage(s) {
  const c = card(s.name);
  c.head.replaceChildren(s.name, badge(stageWord(s)),
    el("span", { class: "muted", text: `visits ${s.visits} · attempts ${s.attempts.length}${s.duration_ms ? ` · ${duration(s.duration_ms)}` : ""}` }));
  const body = [];
  if (s.reason) body.push(el("div", { class: "muted", text: s.reason }));
  const l = links(s.links);
  if (l.length) body.push(el("div", { class: "links" }, l));
  if (s.artifacts && s.artifacts.length) {
    body.push(el("div", { class: "artifacts" }, "artifacts: ", s.artifacts.map((path) => {
      const href = `${api}/artifacts/${encodeURIComponent(s.name)}/${path.split("/").map(encodeURIComponent).join("/")}`;
      return el("span", { class: "artifact" }, el("a", { href, download: path.split("/").pop(), text: path }), " (",
        el("a", { href: `${href}?view=true`, target: "_blank", rel: "noopener noreferrer", class: "open", text: "open" }), ") ");
    })));
  }
  if (s.attempts.length) {
    body.push(el("table", {},
      el("thead", {}, el("tr", {}, ["attempt", "", "exit", "status", "duration", "cost", "notes"].map((h) => el("th", { text: h })))),
      el("tbody", {}, s.attempts.map(attemptRow))));
  }
  c.body.replaceChildren(...body);
  const asked = awaiting(s);
  c.approve.hidden = !asked;
  if (asked && c.decisionWords !== asked.decisions.join(" ")) {
    c.decisionWords = asked.decisions.join(" ");
    c.decisions.replaceChildren(...asked.decisions.map((word) => {
      const b = el("button", { type: "button", "data-decision": word, text: word });
      b.addEventListener("click", () => c.decide(word));
      return b;
    }));
  }
  followLog(s, c);
}

function showLines(c) {
  if (c.lines.length > MAX_LINES) c.lines.splice(0, c.lines.length - MAX_LINES);
  const atEnd = c.log.scrollTop + c.log.clientHeight >= c.log.scrollHeight - 4;
  c.log.textContent = c.lines.length ? `${c.lines.join("\n")}\n` : "";
  if (atEnd) c.log.scrollTop = c.log.scrollHeight;
}

/** A live stage streams its log; a stopped one shows its latest tail. */
function followLog(s, c) {
  const live = LIVE_STAGE.has(s.outcome) && LIVE_RUN.has(run.state) && !awaiting(s);
  if (live && !c.stream) {
    const open = [...cards.values()].filter((x) => x.stream).length;
    if (open >= MAX_STREAMS) return tail(s, c);
    c.lines = [];
    c.logTitle.textContent = "log (live, every attempt)";
    c.stream = new EventSource(`${api}/logs/${encodeURIComponent(s.name)}/events`);
    c.stream.onmessage = (m) => {
      const d = JSON.parse(m.data);
      c.lines.push(d.line);
      showLines(c);
    };
    return;
  }
  if (!live) {
    if (c.stream) {
      c.stream.close();
      c.stream = null;
    }
    tail(s, c);
  }
}

async function tail(s, c) {
  const sig = `${s.visits}/${s.attempts.length}/${s.outcome}`;
  if (c.tailSig === sig || !s.attempts.length) return;
  c.tailSig = sig;
  try {
    const t = await getJson(`${api}/logs/${encodeURIComponent(s.name)}?tail=200`);
    c.lines = t.lines;
    c.logTitle.textContent = `log (visit ${t.visit}, attempt ${t.attempt}, last ${t.lines.length} lines)`;
    showLines(c);
  } catch (e) {
    c.tailSig = null;
    c.logTitle.textContent = `log: ${e.message}`;
  }
}

// ---- actions ---------------------------------------------------------

async function act(path, body, result) {
  result.textContent = "…";
  result.classList.remove("bad");
  const r = await postJson(path, body);
  result.textContent = r.ok ? (r.body.state || (r.body.live ? "given" : "recorded")) : `${r.status}: ${r.body.error || "refused"}`;
  result.classList.toggle("bad", !r.ok);
  refresh();
}

const actionResult = document.getElementById("action-result");
document.getElementById("cancel").addEventListener("click", () => act(`${api}/cancel`, {}, actionResult));
document.getElementById("resume").addEventListener("click", () => act(`${api}/resume`, {}, actionResult));

// ---- refreshing ------------------------------------------------------

async function refresh() {
  run = await getJson(api);
  if (!flow || flow.name !== run.flow) {
    const flows = await getJson("/api/flows");
    flow = flows.flows.find((f) => f.name === run.flow) || null;
  }
  renderRun();
  renderGraph();
  (run.stages || []).forEach(renderStage);
  followEvents();
  status(`updated ${new Date().toLocaleTimeString()} · live over SSE, and every 2 s`);
}

let pending = null;
function soon() {
  if (pending) return;
  pending = setTimeout(() => {
    pending = null;
    refresh().catch((e) => status(e.message, true));
  }, 200);
}

/** Follows the approvals in journal event `e`. */
function journal(e) {
  if (e.event === "approval_requested") {
    approvals.set(e.stage, { visit: e.visit, attempt: e.attempt, decisions: e.decisions || [] });
  } else if (e.event === "stage_finished" && approvals.has(e.stage)) {
    const asked = approvals.get(e.stage);
    if (asked.visit === e.visit && asked.attempt === e.attempt) approvals.delete(e.stage);
  } else if (e.event === "run_finished") {
    approvals.clear();
  }
}

/** The run's journal stream, while a process may write it. */
function followEvents() {
  const live = LIVE_RUN.has(run.state);
  if (live && !events) {
    events = new EventSource(`${api}/events`);
    events.onmessage = (m) => {
      journal(JSON.parse(m.data));
      soon();
    };
  } else if (!live && events) {
    events.close();
    events = null;
  }
}

every(2000, refresh);

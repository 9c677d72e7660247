// The runs page: runs, the queue, a submit form, broken flows and per-flow
// figures. Live: the runs' changes arrive over `GET /api/events` (SSE) and
// are merged into the list, which is loaded whole when the stream opens
// (and again after a reconnection or a `resync`); the flows and their
// `flow stats` figures are read again when the served flows change, and
// every 10 s.
import { el, link, rendered, age, duration, cost, runState, badge, getJson, postJson, status, every } from "/assets/common.js";

const QUEUED = new Set(["queued"]);
/** Most runs shown. */
const LIMIT = 200;

/** Runs by id, as `GET /api/runs?details=true` lists them. */
let runs = new Map();
let flows = { flows: [], broken: [] };

function runLink(id) {
  return el("a", { href: `/runs/${encodeURIComponent(id)}`, class: "run-link", "data-run": id }, el("code", { text: id }));
}

/** The links a run's stages set (`issue`, `branch`, `pr`…), by name. */
function runLinks(map) {
  const entries = Object.entries(map || {});
  if (!entries.length) return "";
  return el("div", { class: "links" }, entries.map(([name, url]) => link(url, name)));
}

function fill(tbody, rows) {
  tbody.replaceChildren(...rows);
}

/** Oldest first, as the API lists them: by submission, else start. */
function ordered() {
  const all = [...runs.values()].sort((a, b) =>
    (a.submitted_ms ?? a.started_ms ?? 0) - (b.submitted_ms ?? b.started_ms ?? 0) || (a.id < b.id ? -1 : 1));
  return all.slice(Math.max(0, all.length - LIMIT));
}

function renderRuns() {
  const all = ordered();
  const queued = all.filter((r) => QUEUED.has(r.state));
  const rest = all.filter((r) => !QUEUED.has(r.state)).reverse();
  document.getElementById("queue-count").textContent = queued.length ? `(${queued.length})` : "(empty)";
  fill(document.querySelector("#queue tbody"), queued.map((r) =>
    el("tr", { "data-run": r.id },
      el("td", {}, runLink(r.id)),
      el("td", { text: r.flow }),
      el("td", {}, r.key ? el("code", { text: r.key }) : ""),
      el("td", { class: "description" }, rendered(r.description_html)),
      el("td", { text: age(r.submitted_ms) }))));
  fill(document.querySelector("#runs tbody"), rest.map((r) => {
    const word = runState(r);
    return el("tr", { "data-run": r.id, "data-state": word },
      el("td", {}, badge(word)),
      el("td", {}, runLink(r.id)),
      el("td", { text: r.flow }),
      el("td", {}, r.key ? el("code", { text: r.key }) : ""),
      el("td", {}, rendered(r.description_html), runLinks(r.links)),
      el("td", { text: age(r.submitted_ms || r.started_ms) }),
      el("td", { class: "num", text: duration(r.duration_ms) }),
      el("td", { class: "num", text: cost(r.usage) }));
  }));
}

let stats = new Map();

function percent(x) {
  return `${Math.round(x * 100)}%`;
}

/** One figure cell of `flow stats` (the same rounding as the command). */
function figure(name, text) {
  return el("td", { class: "num", "data-figure": name, text });
}

function renderFlows() {
  const section = document.getElementById("broken-section");
  section.hidden = flows.broken.length === 0;
  document.getElementById("broken").replaceChildren(...flows.broken.map((b) =>
    el("div", { class: "broken" },
      el("div", { class: "file", text: b.file }),
      el("ul", {}, b.diagnostics.map((d) => {
        const line = d.span && d.span.start_line ? `:${d.span.start_line}` : "";
        return el("li", {},
          d.code ? el("code", { text: d.code }) : "",
          d.code ? " " : "",
          `${d.message}${line ? ` (line ${line.slice(1)})` : ""}`,
          d.help ? el("div", { class: "muted", text: d.help }) : "");
      })))));
  fill(document.querySelector("#flows tbody"), flows.flows.map((f) => {
    const s = stats.get(f.name);
    const triggers = f.triggers.map((t) => (t.cron ? `cron ${t.cron}` : `every ${duration(t.every_s * 1000)}`)).join(", ");
    const crossed = s ? s.alerts.filter((a) => a.crossed).length : 0;
    return el("tr", { "data-flow": f.name },
      el("td", {}, el("strong", { text: f.name }), f.description ? el("div", { class: "muted" }, rendered(f.description_html)) : ""),
      el("td", { text: f.stages.join(" → ") }),
      el("td", { text: triggers }),
      figure("runs", s ? String(s.runs) : ""),
      figure("success", s && s.runs ? percent(s.success_rate) : ""),
      figure("escalation", s && s.runs ? percent(s.escalation_rate) : ""),
      figure("cost", s && typeof s.cost_per_run_usd === "number" ? `$${s.cost_per_run_usd.toFixed(3)}` : ""),
      figure("alerts", s && s.alerts.length ? `${crossed} of ${s.alerts.length} crossed` : ""));
  }));
  renderForm();
}

// ---- the submit form -------------------------------------------------

const form = {
  flow: document.getElementById("submit-flow"),
  key: document.getElementById("submit-key"),
  description: document.getElementById("submit-description"),
  params: document.getElementById("submit-params"),
  result: document.getElementById("submit-result"),
  shown: null,
};

/** The flow picker and the chosen flow's params (name, type, default). */
function renderForm() {
  const names = flows.flows.map((f) => f.name);
  const picked = form.flow.value;
  if (form.flow.options.length !== names.length || [...form.flow.options].some((o, i) => o.value !== names[i])) {
    form.flow.replaceChildren(...names.map((n) => el("option", { value: n, text: n })));
    if (names.includes(picked)) form.flow.value = picked;
  }
  const flow = flows.flows.find((f) => f.name === form.flow.value);
  const sig = flow ? JSON.stringify(flow.params) + flow.name : "";
  if (form.shown === sig) return;
  form.shown = sig;
  form.params.replaceChildren(...(flow ? flow.params : []).map((p) => {
    const required = p.default === null || p.default === undefined;
    // Left empty, a param takes its default (on the server).
    const shown = required ? "" : p.type === "duration" ? `${p.default}s` : p.default;
    const input = el("input", { "data-param": p.name, "data-type": p.type, "aria-label": p.name,
      placeholder: required ? "required" : `default: ${shown}` });
    const hint = { "list<str>": ", comma-separated", duration: ", e.g. 90s, 15m, 1h30m", bool: ", true or false" }[p.type] || "";
    return el("label", { class: "param" },
      el("span", { class: "name", text: p.name }),
      el("span", { class: "muted", text: `${p.type}${required ? ", required" : ""}${hint}` }),
      input);
  }));
}

async function submit() {
  const body = { flow: form.flow.value, params: {} };
  if (form.key.value.trim()) body.key = form.key.value.trim();
  if (form.description.value.trim()) body.description = form.description.value;
  for (const input of form.params.querySelectorAll("input[data-param]")) {
    // An empty field leaves the param to its default (a required one is
    // then refused by the API, which says which).
    if (input.value !== "") body.params[input.dataset.param] = input.value;
  }
  form.result.replaceChildren("…");
  form.result.classList.remove("bad");
  const r = await postJson("/api/runs", body);
  if (r.ok) {
    form.result.replaceChildren("queued ", runLink(r.body.id));
  } else if (r.status === 409 && r.body.id) {
    form.result.replaceChildren("this key is held by ", runLink(r.body.id));
    form.result.classList.add("bad");
  } else {
    form.result.replaceChildren(`${r.status}: ${r.body.error || "refused"}`);
    form.result.classList.add("bad");
  }
}

form.flow.addEventListener("change", () => renderForm());
document.getElementById("submit").addEventListener("click", submit);

// ---- live ------------------------------------------------------------

async function loadRuns() {
  const list = await getJson(`/api/runs?details=true&limit=${LIMIT}`);
  runs = new Map(list.map((r) => [r.id, r]));
  renderRuns();
  status(`live · updated ${new Date().toLocaleTimeString()}`);
}

async function loadFlows() {
  const [f, all] = await Promise.all([getJson("/api/flows"), getJson("/api/stats")]);
  flows = f;
  stats = new Map(all.map((s) => [s.flow, s]));
  renderFlows();
}

let pending = null;
/** Renders at most every 100 ms however many changes arrive. */
function soon() {
  if (pending) return;
  pending = setTimeout(() => {
    pending = null;
    renderRuns();
    status(`live · updated ${new Date().toLocaleTimeString()}`);
  }, 100);
}

const changes = new EventSource("/api/events");
changes.onopen = () => loadRuns().catch((e) => status(e.message, true));
changes.onerror = () => status("the live stream is down: reconnecting…", true);
changes.onmessage = (m) => {
  const c = JSON.parse(m.data);
  if (c.resync) {
    loadRuns().catch((e) => status(e.message, true));
  } else if (c.flows) {
    loadFlows().catch((e) => status(e.message, true));
  } else if (c.removed) {
    runs.delete(c.id);
    soon();
  } else {
    runs.set(c.id, c);
    if (c.state === "finished") loadFlows().catch((e) => status(e.message, true));
    soon();
  }
};

// Ages move on, and figures of runs finished elsewhere.
every(10000, async () => {
  renderRuns();
  await loadFlows();
});

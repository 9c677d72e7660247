// The runs page: runs, the queue, broken flows and per-flow figures.
// Refreshes by polling the API every 2 s (runs, flows) and 10 s (stats).
import { el, markdown, age, duration, cost, runState, badge, getJson, status, every } from "/assets/common.js";

const QUEUED = new Set(["queued"]);

function runLink(id) {
  return el("a", { href: `/runs/${encodeURIComponent(id)}`, class: "run-link", "data-run": id }, el("code", { text: id }));
}

function fill(tbody, rows) {
  tbody.replaceChildren(...rows);
}

function renderRuns(runs) {
  const queued = runs.filter((r) => QUEUED.has(r.state));
  const rest = runs.filter((r) => !QUEUED.has(r.state)).reverse();
  document.getElementById("queue-count").textContent = queued.length ? `(${queued.length})` : "(empty)";
  fill(document.querySelector("#queue tbody"), queued.map((r) =>
    el("tr", { "data-run": r.id },
      el("td", {}, runLink(r.id)),
      el("td", { text: r.flow }),
      el("td", {}, r.key ? el("code", { text: r.key }) : ""),
      el("td", { class: "description" }, markdown(r.description)),
      el("td", { text: age(r.submitted_ms) }))));
  fill(document.querySelector("#runs tbody"), rest.map((r) => {
    const word = runState(r);
    return el("tr", { "data-run": r.id, "data-state": word },
      el("td", {}, badge(word)),
      el("td", {}, runLink(r.id)),
      el("td", { text: r.flow }),
      el("td", {}, r.key ? el("code", { text: r.key }) : ""),
      el("td", {}, markdown(r.description)),
      el("td", { text: age(r.submitted_ms || r.started_ms) }),
      el("td", { class: "num", text: duration(r.duration_ms) }),
      el("td", { class: "num", text: cost(r.usage) }));
  }));
}

let stats = new Map();

function renderFlows(flows) {
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
    return el("tr", {},
      el("td", {}, el("strong", { text: f.name }), f.description ? el("div", { class: "muted" }, markdown(f.description)) : ""),
      el("td", { text: f.stages.join(" → ") }),
      el("td", { text: triggers }),
      el("td", { class: "num", text: s ? String(s.runs) : "" }),
      el("td", { class: "num", text: s && s.runs ? `${Math.round(s.success_rate * 100)}%` : "" }),
      el("td", { class: "num", text: s && typeof s.cost_per_run_usd === "number" ? `$${s.cost_per_run_usd.toFixed(4)}` : "" }));
  }));
}

every(2000, async () => {
  const [runs, flows] = await Promise.all([getJson("/api/runs?details=true&limit=200"), getJson("/api/flows")]);
  renderRuns(runs);
  renderFlows(flows);
  status(`updated ${new Date().toLocaleTimeString()} · refreshes every 2 s`);
});

every(10000, async () => {
  const all = await getJson("/api/stats");
  stats = new Map(all.map((s) => [s.flow, s]));
});

// Helpers shared by the dashboard's pages. Every piece of text from the
// API reaches the page as a text node (never as HTML), so a description,
// a log line or a file name cannot inject markup or script.

// A blocked script, style or connection is a bug of the dashboard: say so
// in the status line (and let the browser test see it).
document.addEventListener("securitypolicyviolation", (e) => {
  document.body.dataset.cspViolation = `${e.violatedDirective} ${e.blockedURI}`;
  status(`blocked by the page's policy: ${e.violatedDirective} ${e.blockedURI}`, true);
});

/** An element `tag` with attributes `attrs` and children (nodes or text). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

const SVG = "http://www.w3.org/2000/svg";

/** An SVG element `tag`, as [`el`] (text only through `text`). */
export function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") node.setAttribute("class", value);
    else if (name === "text") node.textContent = value;
    else node.setAttribute(name, String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** `url` when it is an absolute http(s) URL, else null (no `javascript:`). */
export function safeUrl(url) {
  try {
    const u = new URL(String(url));
    return u.protocol === "http:" || u.protocol === "https:" ? u.href : null;
  } catch {
    return null;
  }
}

/** A link to `url` (opened apart, no referrer), or plain text if unsafe. */
export function link(url, text) {
  const href = safeUrl(url);
  if (!href) return el("span", { text: text ?? String(url) });
  return el("a", { href, target: "_blank", rel: "noopener noreferrer", text: text ?? href });
}

/** Elements a rendered description may hold (what CommonMark makes). */
const ALLOWED = new Set(["P", "BR", "HR", "STRONG", "EM", "DEL", "CODE", "PRE", "A", "UL", "OL", "LI",
  "BLOCKQUOTE", "H1", "H2", "H3", "H4", "H5", "H6", "TABLE", "THEAD", "TBODY", "TR", "TH", "TD", "INPUT"]);
/** Their attributes that may stay. */
const ATTRIBUTES = new Set(["href", "title", "start", "align", "type", "checked", "disabled"]);

/** A description as the server rendered it (`description_html`: markdown,
 * raw HTML escaped, links to http(s), mailto or this server only). Checked
 * again here: an element or attribute outside that set is dropped (its
 * text kept), a link is re-checked and opens apart without referrer. */
export function rendered(html) {
  const frag = document.createDocumentFragment();
  if (!html) return frag;
  // A <template> parses without running or loading anything.
  const t = document.createElement("template");
  t.innerHTML = html;
  const clean = (node) => {
    for (const child of [...node.childNodes]) {
      if (child.nodeType === Node.TEXT_NODE) continue;
      if (child.nodeType !== Node.ELEMENT_NODE || !ALLOWED.has(child.tagName)) {
        child.replaceWith(document.createTextNode(child.textContent || ""));
        continue;
      }
      for (const a of [...child.attributes]) if (!ATTRIBUTES.has(a.name)) child.removeAttribute(a.name);
      if (child.tagName === "INPUT" && child.getAttribute("type") !== "checkbox") child.remove();
      if (child.tagName === "A") {
        const href = child.getAttribute("href") || "";
        const own = href.startsWith("/") || href.startsWith("#");
        const ok = own || safeUrl(href) || /^mailto:/i.test(href);
        if (!ok) child.removeAttribute("href");
        else if (!own) {
          child.setAttribute("target", "_blank");
          child.setAttribute("rel", "noopener noreferrer");
        }
      }
      clean(child);
    }
  };
  clean(t.content);
  frag.append(t.content);
  return frag;
}

/** A duration in ms as `1h 2m`, `3m 4s`, `5.2s`. */
export function duration(ms) {
  if (ms === null || ms === undefined) return "";
  const s = ms / 1000;
  if (s < 60) return `${s < 10 ? s.toFixed(1) : Math.round(s)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${Math.round(s % 60)}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ${m % 60}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

/** How long ago Unix-ms `at` was: `3m 4s ago`. */
export function age(at) {
  return at ? `${duration(Math.max(0, Date.now() - at))} ago` : "";
}

/** A cost in USD as `$0.0123`, or "" when none was reported. */
export function cost(usage) {
  const usd = usage && usage.cost_usd;
  return typeof usd === "number" ? `$${usd < 1 ? usd.toFixed(4) : usd.toFixed(2)}` : "";
}

/** The word to show and colour a run by: its outcome once finished. */
export function runState(run) {
  return run.state === "finished" ? run.outcome || "finished" : run.state;
}

/** A coloured state badge. */
export function badge(word) {
  return el("span", { class: `state ${word}`, text: word.replace("_", " ") });
}

/** GET `path` as JSON; throws an Error with the API's message. */
export async function getJson(path) {
  const r = await fetch(path, { headers: { Accept: "application/json" } });
  // A server with a token, and no session (or an old one): log in.
  if (r.status === 401) location.assign("/login");
  const body = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(body.error || `${r.status} ${r.statusText}`);
  return body;
}

/** POST `body` as JSON to `path` (the API's CSRF rule: a JSON content
 * type, same origin); answers `{ok, status, body}`. */
export async function postJson(path, body) {
  const r = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify(body),
    credentials: "same-origin",
  });
  const answer = await r.json().catch(() => ({}));
  return { ok: r.ok, status: r.status, body: answer };
}

/** Shows `text` in the header's status line (`bad`: an error). */
export function status(text, bad = false) {
  const s = document.getElementById("status");
  s.textContent = text;
  s.classList.toggle("bad", bad);
}

/** Calls `tick` now and then every `ms` after each call ends. */
export function every(ms, tick) {
  const loop = async () => {
    try {
      await tick();
    } catch (e) {
      status(`cannot reach the server: ${e.message}`, true);
    }
    setTimeout(loop, ms);
  };
  loop();
}

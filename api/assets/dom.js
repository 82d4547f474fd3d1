// DOM helpers shared by every page. Data only ever becomes text nodes or attribute values:
// nothing here parses a string as HTML, so stored prompts cannot inject markup or script.
"use strict";

const TH = (window.TH = window.TH || {});

/** Builds an element: h("a", {href, class, onclick}, child, "text", [more]). */
TH.h = function h(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(node.dataset, value);
    // Through the CSSOM: the CSP refuses style attributes, not style properties set by script.
    else if (key === "style") node.style.cssText = value;
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  TH.append(node, children);
  return node;
};

/** Appends children: nodes, strings (as text), arrays, skipping null and false. */
TH.append = function append(node, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(node, child);
    else if (child instanceof Node) node.appendChild(child);
    else node.appendChild(document.createTextNode(String(child)));
  }
  return node;
};

/** Replaces everything inside a node. */
TH.fill = function fill(node, ...children) {
  node.replaceChildren();
  return TH.append(node, children);
};

/** Fetches a JSON (or text) API answer: {ok, status, body, missing}. Never throws. */
TH.api = async function api(path, asText) {
  try {
    const resp = await fetch(path, { headers: { Accept: asText ? "text/markdown, text/plain" : "application/json" } });
    const text = await resp.text();
    let body = text;
    if (!asText) {
      try {
        body = JSON.parse(text);
      } catch (_) {
        body = { error: text };
      }
    }
    // A route the server does not have answers 404 or 405 with no JSON error of ours.
    const missing = (resp.status === 404 || resp.status === 405) && !(body && body.error && text.startsWith("{"));
    return { ok: resp.ok, status: resp.status, body, missing };
  } catch (err) {
    return { ok: false, status: 0, body: { error: "the server could not be reached: " + err.message }, missing: false };
  }
};

/** The error text of a failed API answer. */
TH.errorText = function errorText(answer) {
  const body = answer.body;
  if (body && typeof body === "object" && body.error) return body.error;
  if (typeof body === "string" && body) return body;
  return "HTTP " + answer.status;
};

/** Query-string parameter of the page's URL. */
TH.param = function param(name) {
  return new URLSearchParams(location.search).get(name);
};

/** The path segment after a prefix like "/r/", decoded. */
TH.pathId = function pathId(prefix) {
  const raw = location.pathname.slice(prefix.length);
  try {
    return decodeURIComponent(raw);
  } catch (_) {
    return raw;
  }
};

TH.requestUrl = (id) => "/r/" + encodeURIComponent(id);
TH.sessionUrl = (id) => "/s/" + encodeURIComponent(id);
TH.searchUrl = (q) => "/search?q=" + encodeURIComponent(q);

/** RFC 3339 as "2026-11-28 20:41:06.045" UTC. */
TH.time = function time(rfc3339) {
  if (!rfc3339) return "";
  const m = /^(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d)(\.\d{1,3})?/.exec(rfc3339);
  return m ? m[1] + " " + m[2] + (m[3] || "") : rfc3339;
};

/** RFC 3339 of Unix nanoseconds (number or string); millisecond precision. */
TH.nanosToTime = function nanosToTime(nanos) {
  const ms = Number(BigInt(String(nanos)) / 1000000n);
  return TH.time(new Date(ms).toISOString());
};

/** "14.2 ms", "1.31 s". */
TH.duration = function duration(ms) {
  if (ms === undefined || ms === null) return "";
  if (ms < 1) return ms.toFixed(2) + " ms";
  if (ms < 1000) return (ms < 10 ? ms.toFixed(1) : Math.round(ms)) + " ms";
  return (ms / 1000).toFixed(ms < 10000 ? 2 : 1) + " s";
};

/** "1.0 MB" for a length in characters. */
TH.size = function size(chars) {
  if (chars < 1000) return chars + " chars";
  if (chars < 1000000) return (chars / 1000).toFixed(1) + " kB";
  return (chars / 1000000).toFixed(1) + " MB";
};

/** Shortens a text for a one-line cell. */
TH.short = function short(text, max) {
  if (!text) return "";
  const one = String(text).replace(/\s+/g, " ").trim();
  return one.length > max ? one.slice(0, max - 1) + "…" : one;
};

/** A status pill. */
TH.statusBadge = function statusBadge(status) {
  const s = status || "unset";
  return TH.h("span", { class: "pill status-" + s, text: s === "unset" ? "ok" : s });
};

/** A chip naming a span kind, coloured per kind. */
TH.kindChip = function kindChip(kind) {
  const k = kind || "other";
  return TH.h("span", { class: "kind kind-" + k, title: k, text: TH.KIND_LABEL[k] || k });
};

TH.KIND_LABEL = {
  llm: "LLM",
  tool: "tool",
  retrieval: "retrieval",
  embedding: "embed",
  agent: "agent",
  chain: "chain",
  evaluation: "eval",
  guardrail: "guard",
  reranker: "rerank",
  other: "span",
};

/**
 * A block of exact text that stays cheap however long it is: the first `limit` characters,
 * and a button to show the rest on demand.
 */
TH.longText = function longText(text, opts) {
  const o = opts || {};
  const limit = o.limit || 1500;
  const full = text === null || text === undefined ? "" : String(text);
  const pre = TH.h("pre", { class: "text" + (o.class ? " " + o.class : "") });
  if (full.length <= limit) {
    pre.textContent = full;
    return pre;
  }
  pre.textContent = full.slice(0, limit);
  const more = TH.h("button", {
    class: "linkish more",
    type: "button",
    text: "Show all " + TH.size(full.length),
    onclick: () => {
      pre.textContent = full;
      more.remove();
    },
  });
  return TH.h("div", { class: "longtext" }, pre, TH.h("div", { class: "cut" }, "… cut at " + TH.size(limit) + " · ", more));
};

/** Text that may be JSON, pretty-printed when it is. */
TH.jsonText = function jsonText(text, opts) {
  if (typeof text === "string") {
    const t = text.trim();
    if ((t.startsWith("{") || t.startsWith("[")) && t.length < 200000) {
      try {
        return TH.longText(JSON.stringify(JSON.parse(t), null, 2), opts);
      } catch (_) {
        /* not JSON: shown as sent */
      }
    }
    return TH.longText(text, opts);
  }
  return TH.longText(JSON.stringify(text, null, 2), opts);
};

/** A button copying a text (a link, an id) to the clipboard. */
TH.copyButton = function copyButton(label, value) {
  const button = TH.h("button", { type: "button", class: "btn small", text: label, title: value });
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(value);
    } catch (_) {
      const area = TH.h("textarea", { class: "offscreen" });
      area.value = value;
      document.body.appendChild(area);
      area.select();
      document.execCommand("copy");
      area.remove();
    }
    button.textContent = "Copied";
    setTimeout(() => (button.textContent = label), 1500);
  });
  return button;
};

/** A "key: value" definition list, skipping empty values. */
TH.facts = function facts(pairs) {
  const dl = TH.h("dl", { class: "facts" });
  for (const [key, value] of pairs) {
    if (value === undefined || value === null || value === "" || (Array.isArray(value) && !value.length)) continue;
    dl.appendChild(TH.h("dt", { text: key }));
    dl.appendChild(TH.h("dd", {}, value instanceof Node ? value : String(value)));
  }
  return dl;
};

/** A titled card. */
TH.card = function card(title, ...children) {
  return TH.h("section", { class: "card" }, title ? TH.h("h2", { text: title }) : null, children);
};

/** A message shown in place of a page or section. */
TH.notice = function notice(kind, title, detail) {
  return TH.h("div", { class: "notice notice-" + kind, role: kind === "error" ? "alert" : "status" },
    TH.h("strong", { text: title }), detail ? TH.h("p", {}, detail) : null);
};

/** A collapsible section whose body is built only when first opened. */
TH.lazyDetails = function lazyDetails(summary, build, opts) {
  const o = opts || {};
  const details = TH.h("details", { class: o.class || "fold" }, TH.h("summary", {}, summary));
  let built = false;
  const ensure = () => {
    if (built) return;
    built = true;
    TH.append(details, [build()]);
  };
  details.addEventListener("toggle", () => details.open && ensure());
  if (o.open) {
    details.open = true;
    ensure();
  }
  return details;
};

/** The page's main element, emptied, with a heading. */
TH.page = function page(title, subtitle) {
  const main = document.getElementById("main");
  main.replaceChildren();
  if (title) main.appendChild(TH.h("h1", { class: "page-title" }, title, subtitle ? TH.h("span", { class: "subtitle" }, subtitle) : null));
  return main;
};

/** A time-window form (since / until) that reloads the page with its values. */
TH.windowForm = function windowForm(extra) {
  const since = TH.param("since") || "24h";
  const until = TH.param("until") || "";
  const form = TH.h("form", { class: "window", method: "get" },
    TH.h("label", {}, "Since ", TH.h("input", { name: "since", value: since, size: 24, placeholder: "24h or RFC 3339" })),
    TH.h("label", {}, "Until ", TH.h("input", { name: "until", value: until, size: 24, placeholder: "now" })),
    extra || null,
    TH.h("button", { class: "btn", type: "submit", text: "Show" }));
  return form;
};

/** The since / until of the page's URL as API query parameters. */
TH.windowQuery = function windowQuery() {
  const q = new URLSearchParams();
  q.set("since", TH.param("since") || "24h");
  if (TH.param("until")) q.set("until", TH.param("until"));
  return q;
};

/** The first `first` items built by `build`, and a button building the rest a page at a time. */
TH.paged = function paged(items, build, first) {
  const box = TH.h("div", { class: "paged" });
  let shown = 0;
  const more = (count) => {
    const end = Math.min(items.length, shown + count);
    const frag = document.createDocumentFragment();
    for (let i = shown; i < end; i++) frag.appendChild(build(items[i]));
    shown = end;
    const old = box.querySelector(":scope > .paged-more");
    if (old) old.remove();
    box.appendChild(frag);
    if (shown < items.length) {
      box.appendChild(TH.h("button", { type: "button", class: "linkish paged-more",
        text: items.length - shown > 100 ? "Show 100 more of " + (items.length - shown) : "Show " + (items.length - shown) + " more", onclick: () => more(100) }));
    }
  };
  more(first);
  return box;
};

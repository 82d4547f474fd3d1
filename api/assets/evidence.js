// Postmortem evidence: failing examples, what changed (versions), and the bundle.
// These read /api/v1/failing, /versions and /postmortem; a server without them gets a
// clear "not available" state instead of a broken page.
"use strict";

(function () {
  const { h } = TH;

  function unavailable(main, route, answer) {
    main.appendChild(TH.notice("info", "Not available on this server",
      route + " answered " + (answer.status || "nothing") + ": this build has no such API yet, so there is nothing to show here."));
  }

  /** Milliseconds since the epoch of an RFC 3339 text or Unix nanoseconds. */
  function toMs(v) {
    if (v === null || v === undefined || v === "") return null;
    if (typeof v === "number") return v > 1e14 ? v / 1e6 : v > 1e11 ? v : v * 1000;
    if (/^\d+$/.test(v)) return Number(BigInt(v) / 1000000n);
    const ms = Date.parse(v);
    return Number.isNaN(ms) ? null : ms;
  }

  function timeText(v) {
    const ms = toMs(v);
    return ms === null ? String(v || "") : TH.time(new Date(ms).toISOString());
  }

  /** A reason as text, whatever shape the server gives it. */
  function reasonText(r) {
    if (typeof r === "string") return r;
    if (!r || typeof r !== "object") return String(r);
    const kind = r.kind || r.reason || r.type || r.code || "reason";
    const detail = r.detail || r.message || r.explanation || r.value || r.finish_reason || r.name;
    return detail !== undefined && detail !== null && detail !== kind ? kind + ": " + (typeof detail === "string" ? detail : JSON.stringify(detail)) : kind;
  }

  /** The request view inside an example, if it carries one. */
  function exampleView(ex) {
    if (ex.request && Array.isArray(ex.request.spans)) return ex.request;
    if (Array.isArray(ex.spans)) return ex;
    return null;
  }

  async function failing() {
    const main = TH.page("Failing examples");
    const limit = TH.param("limit") || "10";
    main.appendChild(TH.windowForm(h("label", {}, "Limit ", h("input", { name: "limit", value: limit, size: 5 }))));
    const params = TH.windowQuery();
    params.set("limit", limit);
    const holder = h("div", {}, h("p", { class: "muted loading", text: "Loading…" }));
    main.appendChild(holder);
    const answer = await TH.api("/api/v1/failing?" + params);
    holder.replaceChildren();
    if (answer.missing) return unavailable(holder, "/api/v1/failing", answer);
    if (!answer.ok) return holder.appendChild(TH.notice("error", "Failing examples could not be read", TH.errorText(answer)));
    const examples = answer.body.examples || [];
    const jsonl = new URLSearchParams(params);
    jsonl.set("format", "jsonl");
    holder.appendChild(h("p", { class: "muted" }, examples.length + (examples.length === 1 ? " failing request" : " failing requests") + " · ",
      h("a", { href: "/api/v1/failing?" + jsonl, download: "failing.jsonl", text: "download JSONL" })));
    if (!examples.length) holder.appendChild(TH.notice("info", "No failing requests in this window", "Nothing scored low, errored, was cut off, filtered or refused."));
    const list = h("ol", { class: "examples" });
    for (const ex of examples) list.appendChild(exampleCard(ex));
    holder.appendChild(list);
  }

  function exampleCard(ex) {
    const view = exampleView(ex);
    const id = ex.request_id || (view && view.request_id) || "?";
    const summary = (view && view.summary) || ex.summary || ex;
    const story = view ? TH.trace.exchange(view) : { question: ex.question || summary.question, answer: ex.answer || ex.final_answer || summary.answer, tools: [] };
    const reasons = Array.isArray(ex.reasons) ? ex.reasons : [];
    return h("li", { class: "example card failed" },
      h("div", { class: "result-head" },
        h("a", { class: "mono strong example-link", href: TH.requestUrl(id), text: id }),
        summary.start_time ? h("span", { class: "mono muted", text: TH.time(summary.start_time) }) : null,
        (view && view.session_id) || ex.session_id ? h("a", { class: "mono small", href: TH.sessionUrl((view && view.session_id) || ex.session_id), text: (view && view.session_id) || ex.session_id }) : null,
        summary.prompt_version ? h("span", { class: "badge badge-strong" }, h("span", { class: "badge-key", text: "prompt" }), h("span", { class: "badge-val", text: summary.prompt_version })) : null),
      h("div", { class: "reasons" }, reasons.map((r) => h("span", { class: "pill reason", text: reasonText(r) }))),
      h("div", { class: "bubble user" }, h("div", { class: "role", text: "user" }), TH.longText(story.question || "(no user message recorded)", { limit: 600 })),
      story.tools.length ? h("div", { class: "bubble tools" }, TH.paged(story.tools, (t) => h("div", { class: "tool-line" + (t.status === "error" ? " failed" : "") },
        h("span", { class: "kind kind-tool", text: "tool" }), " ", h("span", { class: "mono strong", text: (t.tool && t.tool.name) || t.name }),
        h("span", { class: "mono muted", text: " " + TH.short((t.tool && t.tool.arguments) || "", 100) }),
        t.status === "error" ? h("span", { class: "pill status-error", text: "error" }) : null), 8)) : null,
      h("div", { class: "bubble assistant" }, h("div", { class: "role", text: "assistant" }), TH.longText(story.answer || "(no answer recorded)", { limit: 600 })),
      view ? TH.lazyDetails("Full trace", () => TH.trace.renderRequest(h("div", { class: "inline-trace" }), view, { compact: true })) : null);
  }

  /** Every value row of a versions answer, whatever its grouping: {dimension, value, ...}. */
  function versionRows(body) {
    const rows = [];
    const push = (dimension, v) => {
      if (v === null || typeof v !== "object") v = { value: v };
      rows.push({
        dimension: v.dimension || dimension,
        value: String(v.value !== undefined ? v.value : v.name),
        first: toMs(v.first_seen),
        last: toMs(v.last_seen),
        count: first(v.request_count, v.requests, v.count),
        failing: first(v.failing_count, v.failing, v.failing_requests),
        share: first(v.failing_share, v.failing_rate, v.failure_share),
        scores: v.scores && typeof v.scores === "object" ? v.scores : {},
      });
    };
    const dims = body.dimensions || body.versions || body.values;
    if (Array.isArray(dims)) {
      for (const d of dims) {
        if (Array.isArray(d.values)) d.values.forEach((v) => push(d.dimension || d.name, v));
        else push(d.dimension, d);
      }
    } else if (dims && typeof dims === "object") {
      for (const [dim, values] of Object.entries(dims)) {
        const list = Array.isArray(values) ? values : Array.isArray(values.values) ? values.values : [];
        list.forEach((v) => push(dim, v));
      }
    }
    for (const r of rows) {
      if ((r.share === undefined || r.share === null) && typeof r.failing === "number" && r.count) r.share = r.failing / r.count;
    }
    return rows;
  }

  function first(...values) {
    return values.find((v) => v !== undefined && v !== null);
  }

  async function versions() {
    const main = TH.page("What changed");
    main.appendChild(TH.windowForm());
    const holder = h("div", {}, h("p", { class: "muted loading", text: "Loading…" }));
    main.appendChild(holder);
    const answer = await TH.api("/api/v1/versions?" + TH.windowQuery());
    holder.replaceChildren();
    if (answer.missing) return unavailable(holder, "/api/v1/versions", answer);
    if (!answer.ok) return holder.appendChild(TH.notice("error", "Versions could not be read", TH.errorText(answer)));
    const body = answer.body;
    const changes = Array.isArray(body.changes) ? body.changes : [];
    const changed = new Set(changes.map((c) => c.dimension + "\u0000" + c.value));
    // One line per dimension, values in first-seen order: a prompt change reads at a glance
    // even when a fingerprint dimension has dozens of values.
    const changesByDim = new Map();
    for (const c of changes) {
      if (!changesByDim.has(c.dimension)) changesByDim.set(c.dimension, []);
      changesByDim.get(c.dimension).push(c);
    }
    const changeLines = [...changesByDim.entries()].sort((a, b) => a[1].length - b[1].length || a[0].localeCompare(b[0]));
    holder.appendChild(TH.card("Changes in this window",
      changes.length
        ? h("ul", { class: "changes" }, changeLines.map(([dim, list]) => h("li", { class: "change", dataset: { dimension: dim } },
          h("span", { class: "dim", text: String(dim).replace(/_/g, " ") }),
          h("span", { class: "change-values" }, TH.paged(list, (c) => h("span", { class: "badge badge-new", title: "first seen " + timeText(c.first_seen) + changeEvidence(c.evidence) },
            h("span", { class: "badge-key", text: timeText(c.first_seen).slice(11, 19) }), h("span", { class: "badge-val", text: String(c.value) })), 6)))))
        : h("p", { class: "muted", text: "No version value replaced another inside this window." })));
    const rows = versionRows(body);
    if (!rows.length) return holder.appendChild(TH.notice("info", "No versions recorded in this window", null));
    const firsts = rows.map((r) => r.first).filter((v) => v !== null);
    const lasts = rows.map((r) => r.last).filter((v) => v !== null);
    const lo = Math.min(...firsts);
    const hi = Math.max(...lasts, lo + 1);
    const pct = (ms) => ((ms - lo) / (hi - lo)) * 100;
    const byDim = new Map();
    for (const r of rows) {
      if (!byDim.has(r.dimension)) byDim.set(r.dimension, []);
      byDim.get(r.dimension).push(r);
    }
    // Dimensions whose values fail at very different rates first: that is where the cause shows.
    const spread = (dim) => {
      const shares = byDim.get(dim).map((r) => r.share).filter((x) => typeof x === "number");
      return shares.length > 1 ? Math.max(...shares) - Math.min(...shares) : 0;
    };
    const dimsSorted = [...byDim.keys()].sort((a, b) => spread(b) - spread(a) || a.localeCompare(b));
    holder.appendChild(h("div", { class: "axis muted small" }, h("span", { text: TH.time(new Date(lo).toISOString()) }), h("span", { text: TH.time(new Date(hi).toISOString()) })));
    for (const dim of dimsSorted) {
      const values = byDim.get(dim).sort((a, b) => (a.first || 0) - (b.first || 0));
      holder.appendChild(h("section", { class: "card dimension", dataset: { dimension: dim } },
        h("h2", { text: dim.replace(/_/g, " ") }),
        h("div", { class: "timeline" }, TH.paged(values, (v) => {
          const isNew = changed.has(dim + "\u0000" + v.value);
          const left = v.first === null ? 0 : pct(v.first);
          const right = v.last === null ? 100 : pct(v.last);
          const share = typeof v.share === "number" ? v.share : null;
          return h("div", { class: "tl-row" + (isNew ? " is-new" : ""), dataset: { value: v.value } },
            h("div", { class: "tl-label" }, h("span", { class: "mono strong", text: v.value, title: v.value }),
              isNew ? h("span", { class: "pill new", text: "new" }) : null),
            h("div", { class: "tl-track" },
              h("div", { class: "tl-bar", style: "left:" + left.toFixed(2) + "%;width:" + Math.max(0.6, right - left).toFixed(2) + "%" }),
              v.first !== null ? h("div", { class: "tl-first", style: "left:" + left.toFixed(2) + "%", title: "first seen " + timeText(v.first * 1e6) }) : null),
            h("div", { class: "tl-stats" },
              h("span", { class: "mono small", text: "first " + (v.first !== null ? TH.time(new Date(v.first).toISOString()).slice(11, 19) : "?") }),
              h("span", { class: "num small", text: (v.count !== undefined ? v.count : "?") + " req" }),
              share !== null ? h("span", { class: "share", title: "failing share" },
                h("span", { class: "share-bar" }, h("span", { style: "width:" + (share * 100).toFixed(1) + "%" })),
                h("span", { class: "num small" + (share > 0 ? " bad" : ""), text: (share * 100).toFixed(0) + "% fail" })) : null,
              // One mean per score name: names are never averaged together.
              ...Object.entries(v.scores).map(([name, s]) => h("span", { class: "num small", dataset: { score: name }, title: s.count + " values",
                text: name + " " + Number(s.mean).toFixed(2) }))));
        }, 12))));
    }
  }

  /** Why a first sighting counts as a change: the test the server decided with. */
  function changeEvidence(e) {
    if (!e) return "";
    return "\nnone of the " + e.requests_before + " requests before carried it; " + e.carrying_after + " of the " +
      e.requests_after + " from then on did (p = " + Number(e.p_value).toPrecision(2) + ")";
  }

  async function postmortem() {
    const main = TH.page("Postmortem");
    main.appendChild(TH.windowForm());
    const params = TH.windowQuery();
    for (const name of ["baseline_since", "baseline_until"]) if (TH.param(name)) params.set(name, TH.param(name));
    const md = new URLSearchParams(params);
    md.set("format", "md");
    const holder = h("div", {}, h("p", { class: "muted loading", text: "Building the bundle…" }));
    main.appendChild(holder);
    const answer = await TH.api("/api/v1/postmortem?" + md, true);
    holder.replaceChildren();
    if (answer.missing || answer.status === 404) return unavailable(holder, "/api/v1/postmortem", answer);
    if (!answer.ok) {
      let text = answer.body;
      try {
        text = JSON.parse(answer.body).error || text;
      } catch (_) {
        /* plain text error */
      }
      return holder.appendChild(TH.notice("error", "The postmortem bundle could not be built", text));
    }
    holder.appendChild(h("div", { class: "downloads" },
      h("a", { class: "btn primary", href: "/api/v1/postmortem?" + md, download: "postmortem.md", text: "Download Markdown" }),
      h("a", { class: "btn", href: "/api/v1/postmortem?" + params, download: "postmortem.json", text: "Download JSON" }),
      TH.copyButton("Copy Markdown", answer.body)));
    holder.appendChild(h("article", { class: "card bundle" }, TH.markdown.render(answer.body)));
  }

  Object.assign((TH.pages = TH.pages || {}), { failing, versions, postmortem });
})();

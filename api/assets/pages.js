// The home page (id box, recent requests), the request and session pages, and search.
"use strict";

(function () {
  const { h } = TH;

  /** True when the text reads as one identifier rather than a search query. */
  function looksLikeId(text) {
    return !/\s/.test(text) && !/["()]/.test(text) && !/^-/.test(text) && !/^[a-z_]+:/.test(text);
  }

  /** Goes to what an id names, or to a search for the text. */
  async function go(text, statusNode) {
    const q = text.trim();
    if (!q) return;
    if (looksLikeId(q)) {
      if (statusNode) TH.fill(statusNode, "Looking up " + q + "…");
      const answer = await TH.api("/api/v1/lookup/" + encodeURIComponent(q));
      if (answer.ok && answer.body.kind === "request") {
        location.assign(TH.requestUrl(answer.body.request.request_id));
        return;
      }
      if (answer.ok && answer.body.kind === "session") {
        location.assign(TH.sessionUrl(answer.body.session.session_id));
        return;
      }
      if (answer.status !== 404 && !answer.ok) {
        if (statusNode) TH.fill(statusNode, TH.notice("error", "Lookup failed", TH.errorText(answer)));
        return;
      }
    }
    location.assign(TH.searchUrl(q));
  }
  TH.go = go;

  /** Makes the top bar's box resolve ids like the home page's. */
  function wireTopSearch() {
    const form = document.getElementById("topsearch");
    const input = document.getElementById("topsearch-q");
    if (!form || !input) return;
    const q = TH.param("q");
    if (q && document.body.dataset.page === "search") input.value = q;
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      go(input.value, null);
    });
  }
  TH.wireTopSearch = wireTopSearch;

  /** A table of request summaries. */
  function requestTable(requests) {
    return h("table", { class: "list" },
      h("thead", {}, h("tr", {}, ["time (UTC)", "request", "status", "service", "model", "prompt", "question", "duration", "spans"].map((t) => h("th", { text: t })))),
      h("tbody", {}, requests.map((r) => h("tr", { class: r.status === "error" ? "row-error" : "" },
        h("td", { class: "mono nowrap", text: TH.time(r.start_time) }),
        h("td", {}, h("a", { class: "mono", href: TH.requestUrl(r.request_id), text: r.request_id })),
        h("td", {}, TH.statusBadge(r.status)),
        h("td", { class: "nowrap", text: r.service }),
        h("td", { class: "mono small nowrap", text: (r.models || []).filter((m) => !/embed/.test(m)).join(", ") || (r.models || []).join(", ") }),
        h("td", {}, r.prompt_version ? h("span", { class: "badge badge-strong" }, h("span", { class: "badge-val", text: r.prompt_version })) : null),
        h("td", { class: "question", text: TH.short(r.question || r.root_name, 90), title: r.question || "" }),
        h("td", { class: "num nowrap", text: TH.duration(r.duration_ms) }),
        h("td", { class: "num", text: String(r.span_count) })))));
  }
  TH.requestTable = requestTable;

  async function home() {
    const main = TH.page(null);
    const input = h("input", { type: "search", id: "idbox", name: "q", class: "idbox", autofocus: true, autocomplete: "off", spellcheck: "false",
      placeholder: "req_8f2c1, a trace id, sess_…, chatcmpl-…, or words to search", "aria-label": "Any id or a search query" });
    const status = h("div", { class: "idbox-status", "aria-live": "polite" });
    const form = h("form", { class: "hero-form", id: "idform" }, input, h("button", { class: "btn primary", type: "submit", text: "Find" }));
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      go(input.value, status);
    });
    main.appendChild(h("section", { class: "hero" },
      h("h1", { text: "Find the request" }),
      h("p", { class: "muted", text: "Paste any id from a ticket or a log line — request, trace, session or provider response id — or search for what was said." }),
      form, status));
    const stats = h("div", { class: "stats muted" });
    const filters = listFilters();
    const recent = h("section", { class: "card" }, h("h2", {}, "Recent requests ", stats), filters.form, h("p", { class: "muted loading", text: "Loading…" }));
    main.appendChild(recent);
    input.focus();
    const [list, st] = await Promise.all([TH.api("/api/v1/requests?" + filters.query), TH.api("/api/v1/stats")]);
    if (st.ok) TH.fill(stats, st.body.requests + " requests · " + st.body.sessions + " sessions · " + st.body.spans + " spans");
    const body = recent.querySelector(".loading");
    if (!list.ok) {
      body.replaceWith(TH.notice("error", "Recent requests could not be read", TH.errorText(list)));
    } else if (!list.body.requests.length) {
      body.replaceWith(filters.active
        ? TH.notice("info", "No request matches these filters", "Clear a filter, or widen the time range.")
        : TH.notice("info", "No requests stored yet", "Point an OpenTelemetry SDK at the OTLP ports (4317 gRPC, 4318 HTTP)."));
    } else {
      body.replaceWith(h("div", {}, requestTable(list.body.requests), pager(list.body.next_cursor)));
    }
  }

  // The listing's filters, as the API takes them; the page's URL carries them, so a filtered
  // list is a link to paste into a ticket.
  const LIST_FILTERS = [
    ["status", "Status", null],
    ["service", "Service", "checkout"],
    ["version", "Version", "prompt_version=v8"],
    ["user", "User", "user_…"],
    ["min_duration_ms", "Slower than (ms)", "2000"],
    ["since", "Since", "24h or RFC 3339"],
    ["until", "Until", "now"],
  ];

  /** The filter form of the home list, and the API query of the page's URL. */
  function listFilters() {
    const query = new URLSearchParams({ limit: "50" });
    let active = false;
    const fields = LIST_FILTERS.map(([name, label, placeholder]) => {
      const value = TH.param(name) || "";
      if (value) {
        query.set(name, value);
        active = true;
      }
      const control = name === "status"
        ? h("select", { name },
          [["", "any"], ["ok", "ok"], ["error", "error"]].map(([v, t]) => h("option", { value: v, text: t, selected: v === value })))
        : h("input", { name, value, placeholder, size: name === "version" ? 20 : 12 });
      return h("label", {}, label + " ", control);
    });
    const cursor = TH.param("cursor");
    if (cursor) query.set("cursor", cursor);
    // Scores and model: the version filter takes a model (`response_model=gpt-4o-…`); a
    // score threshold is a failing criterion, on the Failing page.
    const form = h("form", { class: "window list-filters", method: "get", action: "/" }, fields,
      h("button", { class: "btn", type: "submit", text: "Filter" }),
      active ? h("a", { class: "btn", href: "/", text: "Clear" }) : null,
      h("a", { class: "muted small", href: "/failing", text: "by score: Failing →" }));
    return { form, query: query.toString(), active };
  }

  /** Links to the newest page and to the next, older one. */
  function pager(nextCursor) {
    const here = new URLSearchParams(location.search);
    const at = (cursor) => {
      const q = new URLSearchParams(here);
      if (cursor) q.set("cursor", cursor);
      else q.delete("cursor");
      const text = q.toString();
      return "/" + (text ? "?" + text : "");
    };
    return h("nav", { class: "pager" },
      here.get("cursor") ? h("a", { class: "btn", href: at(null), text: "← Newest" }) : null,
      nextCursor ? h("a", { class: "btn pager-older", href: at(nextCursor), text: "Older →" }) : null);
  }

  async function request() {
    const id = TH.pathId("/r/");
    const main = TH.page(null);
    document.title = id + " · Tracehound";
    main.appendChild(h("p", { class: "muted loading", text: "Loading " + id + "…" }));
    let answer = await TH.api("/api/v1/requests/" + encodeURIComponent(id));
    if (answer.status === 404) {
      // A provider response id or a session id also names something worth showing.
      const lookup = await TH.api("/api/v1/lookup/" + encodeURIComponent(id));
      if (lookup.ok && lookup.body.kind === "session") return location.replace(TH.sessionUrl(lookup.body.session.session_id));
      if (lookup.ok && lookup.body.kind === "request") answer = { ok: true, body: lookup.body.request };
    }
    main.replaceChildren();
    if (!answer.ok) {
      main.appendChild(TH.notice(answer.status === 404 ? "info" : "error", answer.status === 404 ? "No request " + id : "The request could not be read", TH.errorText(answer)));
      return;
    }
    TH.trace.renderRequest(main, answer.body, {});
  }

  async function session() {
    const id = TH.pathId("/s/");
    const main = TH.page(null);
    document.title = id + " · Tracehound";
    main.appendChild(h("p", { class: "muted loading", text: "Loading " + id + "…" }));
    const answer = await TH.api("/api/v1/sessions/" + encodeURIComponent(id));
    main.replaceChildren();
    if (!answer.ok) {
      main.appendChild(TH.notice(answer.status === 404 ? "info" : "error", answer.status === 404 ? "No session " + id : "The session could not be read", TH.errorText(answer)));
      return;
    }
    const s = answer.body;
    main.appendChild(h("div", { class: "req-head" },
      h("h1", { class: "page-title" }, "Session ", h("span", { class: "mono id", text: s.session_id })),
      h("div", { class: "actions" }, TH.copyButton("Copy link", location.origin + TH.sessionUrl(s.session_id)))));
    // The failing verdict (errors, refusals, truncations, low scores), not only error status.
    const failing = s.failing;
    main.appendChild(TH.facts([
      ["user", s.user_id],
      ["first seen", TH.time(s.first_seen)],
      ["last seen", TH.time(s.last_seen)],
      ["requests", String(s.request_count)],
      ["failing", failing ? String(failing) : null],
    ]));
    // What the session cost in tokens and in the user's time (no price per model is kept yet).
    const t = s.totals || {};
    main.appendChild(h("div", { class: "session-totals" }, TH.facts([
      ["tokens", t.input_tokens !== undefined ? Number(t.input_tokens).toLocaleString("en-US") + " in / " + Number(t.output_tokens).toLocaleString("en-US") + " out" : null],
      ["LLM calls", t.llm_calls !== undefined ? String(t.llm_calls) : null],
      ["tool calls", t.tool_calls !== undefined ? String(t.tool_calls) : null],
      ["time waited", t.duration_ms !== undefined ? TH.duration(t.duration_ms) : null],
      ["slowest request", t.max_duration_ms !== undefined ? TH.duration(t.max_duration_ms) : null],
      ["cost", typeof t.cost_usd === "number" ? "$" + t.cost_usd.toFixed(4) : t.unpriced_requests ? "? (" + t.unpriced_requests + " with an unpriced model)" : null],
    ])));
    const transcript = h("ol", { class: "transcript" });
    s.requests.forEach((view, i) => {
      const ex = TH.trace.exchange(view);
      const sum = view.summary || {};
      // An error is one of the reasons, so the reasons alone say it.
      transcript.appendChild(h("li", { class: "turn-card" + (view.reasons.length ? " failed" : ""), id: "turn-" + (i + 1) },
        h("div", { class: "turn-meta" },
          h("span", { class: "turn-no", text: "Turn " + (i + 1) }),
          h("a", { class: "mono", href: TH.requestUrl(view.request_id), text: view.request_id }),
          TH.statusBadge(sum.status),
          TH.trace.failingPill(view),
          h("span", { class: "muted mono", text: TH.time(sum.start_time) }),
          sum.prompt_version ? h("span", { class: "badge badge-strong" }, h("span", { class: "badge-key", text: "prompt" }), h("span", { class: "badge-val", text: sum.prompt_version })) : null,
          h("span", { class: "muted", text: TH.duration(sum.duration_ms) + " · " + sum.span_count + " spans" + ((sum.finish_reasons || []).length ? " · finish " + sum.finish_reasons.join(", ") : "") })),
        h("div", { class: "bubble user" }, h("div", { class: "role", text: "user" }), TH.longText(ex.question || "(no user message recorded)")),
        ex.tools.length ? h("div", { class: "bubble tools" }, TH.paged(ex.tools, (t) => h("div", { class: "tool-line" + (t.status === "error" ? " failed" : "") },
          h("span", { class: "kind kind-tool", text: "tool" }), " ", h("span", { class: "mono strong", text: (t.tool && t.tool.name) || t.name }),
          h("span", { class: "mono muted", text: " " + TH.short((t.tool && t.tool.arguments) || "", 120) }),
          t.status === "error" ? h("span", { class: "pill status-error", text: "error" }) : null), 8)) : null,
        h("div", { class: "bubble assistant" }, h("div", { class: "role", text: "assistant" }), TH.longText(ex.answer || "(no answer recorded)")),
        TH.lazyDetails("Trace: " + sum.span_count + " spans", () => TH.trace.renderRequest(h("div", { class: "inline-trace" }), view, { compact: true }), { class: "fold trace-fold" })));
    });
    main.appendChild(transcript);
  }

  /** Byte ranges of a UTF-8 text as pieces [text, highlighted]. */
  function highlightPieces(snippet, ranges) {
    const bytes = new TextEncoder().encode(snippet);
    const dec = new TextDecoder();
    const pieces = [];
    let at = 0;
    for (const [start, end] of [...ranges].sort((a, b) => a[0] - b[0])) {
      if (start < at || end > bytes.length) continue;
      if (start > at) pieces.push([dec.decode(bytes.slice(at, start)), false]);
      pieces.push([dec.decode(bytes.slice(start, end)), true]);
      at = end;
    }
    if (at < bytes.length) pieces.push([dec.decode(bytes.slice(at)), false]);
    return pieces;
  }
  TH.highlightPieces = highlightPieces;

  async function search() {
    const q = TH.param("q") || "";
    const sort = TH.param("sort") || "relevance";
    const main = TH.page("Search");
    const input = h("input", { type: "search", name: "q", class: "idbox", value: q, autocomplete: "off", spellcheck: "false",
      placeholder: 'refund "store credit" -chargeback model:gpt-4o since:24h', "aria-label": "Search query" });
    main.appendChild(h("form", { class: "hero-form", method: "get", action: "/search" }, input,
      h("select", { name: "sort", "aria-label": "order" }, h("option", { value: "relevance", selected: sort === "relevance", text: "best first" }), h("option", { value: "time", selected: sort === "time", text: "newest first" })),
      h("button", { class: "btn primary", type: "submit", text: "Search" })));
    if (!q.trim()) {
      main.appendChild(h("p", { class: "muted", text: "Words, \"phrases\", -exclusions and filters such as model:, prompt_version:, tool:, status:error, since:2h. See the README for the whole language." }));
      return;
    }
    document.title = q + " · Search · Tracehound";
    const out = h("div", { class: "results" });
    main.appendChild(out);
    const loadPage = async (cursor) => {
      const params = new URLSearchParams({ q, sort, limit: "20" });
      if (cursor) params.set("cursor", cursor);
      const answer = await TH.api("/api/v1/search?" + params);
      const old = out.querySelector(".more-results");
      if (old) old.remove();
      if (!answer.ok) {
        const body = answer.body || {};
        const pos = typeof body.position === "number" ? body.position : null;
        out.appendChild(TH.notice("error", "The query cannot be read", TH.errorText(answer)));
        if (pos !== null) out.appendChild(h("pre", { class: "caret" }, q + "\n" + " ".repeat(pos) + "^"));
        return;
      }
      const res = answer.body;
      if (!cursor) {
        out.appendChild(h("p", { class: "muted" }, res.total + (res.total === 1 ? " request matches" : " requests match"),
          res.index_committed_at ? " · index current to " + TH.time(res.index_committed_at) : null));
      }
      for (const r of res.results) out.appendChild(resultCard(r));
      if (res.next_cursor) {
        out.appendChild(h("button", { class: "btn more-results", type: "button", text: "More results", onclick: () => loadPage(res.next_cursor) }));
      }
    };
    await loadPage(null);
  }

  function resultCard(result) {
    const r = result.request;
    return h("article", { class: "result" + (r.status === "error" ? " failed" : "") },
      h("div", { class: "result-head" },
        h("a", { class: "mono strong result-link", href: TH.requestUrl(r.request_id), text: r.request_id }),
        TH.statusBadge(r.status),
        h("span", { class: "mono muted", text: TH.time(r.start_time) }),
        h("span", { class: "mono small", text: (r.models || []).join(", ") }),
        r.prompt_version ? h("span", { class: "badge badge-strong" }, h("span", { class: "badge-key", text: "prompt" }), h("span", { class: "badge-val", text: r.prompt_version })) : null,
        r.session_id ? h("a", { class: "mono small", href: TH.sessionUrl(r.session_id), text: r.session_id }) : null,
        // BM25 relevance, not an eval score: the word says which.
        result.score ? h("span", { class: "muted num", title: "BM25 relevance of the match, not an eval score", text: "relevance " + result.score.toFixed(2) }) : null),
      r.question ? h("div", { class: "result-q", text: TH.short(r.question, 200) }) : null,
      h("ul", { class: "snippets" }, result.matches.map((m) => h("li", {},
        h("span", { class: "where" }, TH.kindChip(m.span_kind), " ", m.field, h("span", { class: "muted", text: " · " + m.span_name })),
        h("span", { class: "snippet" }, highlightPieces(m.snippet, m.highlights).map(([t, hit]) => (hit ? h("mark", { text: t }) : t)))))));
  }

  Object.assign(TH.pages = TH.pages || {}, { home, request, session, search });
})();

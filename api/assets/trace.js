// One request: its exchange (question, tool calls, answer), a waterfall of its span tree and
// the detail of the selected span. Rows and details are built on demand so a trace of
// thousands of spans, or a prompt of a megabyte, costs only what is on screen.
"use strict";

(function () {
  const { h } = TH;
  /** Children rendered per expand; more appear behind a button. */
  const CHILD_PAGE = 200;
  /** Below this many spans the whole tree starts expanded. */
  const OPEN_ALL_BELOW = 60;

  /** Text of a message: its text parts joined. */
  function messageText(message) {
    return (message.parts || []).filter((p) => p.type === "text").map((p) => p.content).join("\n");
  }

  /** Every span of a forest, depth first, with its depth. */
  function flatten(roots) {
    const out = [];
    const stack = roots.map((n) => [n, 0]).reverse();
    while (stack.length) {
      const [node, depth] = stack.pop();
      out.push({ node, depth });
      for (let i = node.children.length - 1; i >= 0; i--) stack.push([node.children[i], depth + 1]);
    }
    return out;
  }

  /** The first user question and the last assistant answer of a request, exact. */
  function exchange(view) {
    const spans = flatten(view.spans).map((e) => e.node);
    const withInput = spans.filter((s) => s.llm && s.llm.input_messages && s.llm.input_messages.length);
    withInput.sort((a, b) => cmpNanos(a.start_unix_nano, b.start_unix_nano));
    let question = null;
    for (const s of withInput) {
      const user = s.llm.input_messages.find((m) => m.role === "user" && messageText(m));
      if (user) {
        question = messageText(user);
        break;
      }
    }
    const withOutput = spans.filter((s) => s.llm && (s.llm.output_messages || []).some((m) => messageText(m)));
    withOutput.sort((a, b) => cmpNanos(a.end_unix_nano, b.end_unix_nano));
    let answer = null;
    const last = withOutput[withOutput.length - 1];
    if (last) {
      const texts = last.llm.output_messages.map(messageText).filter(Boolean);
      answer = texts[texts.length - 1];
    }
    const tools = spans.filter((s) => s.kind === "tool" || s.tool);
    tools.sort((a, b) => cmpNanos(a.start_unix_nano, b.start_unix_nano));
    // Without messages, an LLM call's raw `input.value` / `output.value` is still what was
    // sent and received: shown as it is rather than "nothing recorded".
    const calls = spans.filter((s) => s.llm || s.kind === "llm");
    const byStart = calls.filter((s) => s.input_value).sort((a, b) => cmpNanos(a.start_unix_nano, b.start_unix_nano));
    const byEnd = calls.filter((s) => s.output_value).sort((a, b) => cmpNanos(a.end_unix_nano, b.end_unix_nano));
    return {
      question: question || (view.summary && view.summary.question) || null,
      answer: answer || (view.summary && view.summary.answer) || null,
      rawInput: byStart.length ? byStart[0].input_value : null,
      rawOutput: byEnd.length ? byEnd[byEnd.length - 1].output_value : null,
      tools,
      spans,
    };
  }

  function cmpNanos(a, b) {
    const x = BigInt(String(a || 0));
    const y = BigInt(String(b || 0));
    return x < y ? -1 : x > y ? 1 : 0;
  }

  /** Badges of the versions live on a request. */
  function versionBadges(versions) {
    const wrap = h("div", { class: "badges" });
    for (const [dim, values] of Object.entries(versions || {})) {
      for (const value of values) {
        wrap.appendChild(h("span", { class: "badge" + (dim === "prompt_version" ? " badge-strong" : ""), title: dim },
          h("span", { class: "badge-key", text: dim.replace(/_/g, " ") }), h("span", { class: "badge-val", text: value })));
      }
    }
    return wrap;
  }

  /** Scores and feedback, when the server attaches any. */
  function scoreList(scores) {
    if (!Array.isArray(scores) || !scores.length) return null;
    return h("ul", { class: "scores" }, scores.map((s) =>
      h("li", { class: "score" + (s.value !== undefined && s.value !== null && s.value < 0.5 ? " score-bad" : "") },
        h("strong", { text: s.name || "score" }),
        s.value !== undefined && s.value !== null ? h("span", { class: "num", text: String(s.value) }) : null,
        s.label ? h("span", { class: "pill", text: s.label }) : null,
        s.source ? h("span", { class: "muted", text: s.source }) : null,
        s.explanation ? h("div", { class: "muted", text: s.explanation }) : null)));
  }

  /** Why the request counts as failing (the same verdict as `failing`), or null when it does not. */
  function failingBanner(reasons) {
    // A bundle saved before views carried reasons has none.
    if (!reasons || !reasons.length) return null;
    return h("div", { class: "errors", role: "alert" },
      h("strong", { text: reasons.length === 1 ? "Failing: 1 reason" : "Failing: " + reasons.length + " reasons" }),
      h("ul", {}, reasons.map((r) => h("li", {},
        h("span", { class: "pill status-error", text: String(r.kind).replace(/_/g, " ") }), " ",
        h("span", { text: r.detail }),
        r.span_id ? h("span", { class: "muted mono", text: " span " + r.span_id }) : null))));
  }

  /** A pill saying the request is failing, beside its status. */
  function failingPill(view) {
    return view.reasons && view.reasons.length ? h("span", { class: "pill status-error", title: view.reasons.map((r) => r.kind).join(", "), text: "failing" }) : null;
  }

  /** A tool call, as a call and its result. */
  function toolBlock(span) {
    const tool = span.tool || {};
    const failed = span.status === "error";
    return h("div", { class: "toolcall" + (failed ? " failed" : "") },
      h("div", { class: "toolcall-head" }, h("span", { class: "kind kind-tool", text: "tool" }), " ",
        h("strong", { class: "mono", text: tool.name || span.name }),
        tool.call_id ? h("span", { class: "muted mono", text: " " + tool.call_id }) : null,
        failed ? h("span", { class: "pill status-error", text: "error" }) : null),
      h("div", { class: "label", text: "arguments" }), TH.jsonText(tool.arguments || span.input_value || ""),
      failed && span.error
        ? [h("div", { class: "label", text: "error" }), TH.longText([span.error.error_type, span.error.message].filter(Boolean).join(": "), { class: "error-text" })]
        : [h("div", { class: "label", text: "result" }), TH.jsonText(tool.result || span.output_value || "")]);
  }

  /** Question, tool calls and final answer: what an on-call engineer reads first. */
  function exchangeCard(ex) {
    return h("section", { class: "card exchange" },
      h("div", { class: "turn user" }, h("div", { class: "role", text: "Question" }),
        ex.question ? TH.longText(ex.question, { class: "q-text" })
          : ex.rawInput ? [h("div", { class: "muted small", text: "no user message recorded; the LLM call's raw input:" }), TH.jsonText(ex.rawInput)]
            : TH.longText("(no user message recorded)", { class: "q-text" })),
      ex.tools.length ? h("div", { class: "turn tools" }, h("div", { class: "role", text: ex.tools.length === 1 ? "Tool call" : ex.tools.length + " tool calls" }), TH.paged(ex.tools, toolBlock, 8)) : null,
      h("div", { class: "turn assistant" }, h("div", { class: "role", text: "Final answer" }),
        ex.answer ? TH.longText(ex.answer, { class: "a-text" })
          : ex.rawOutput ? [h("div", { class: "muted small", text: "no answer message recorded; the LLM call's raw output:" }), TH.jsonText(ex.rawOutput)]
            : TH.longText("(no answer recorded)", { class: "a-text" })));
  }

  /** The whole request view inside `container`. `opts.compact` omits the page header. */
  function renderRequest(container, view, opts) {
    const o = opts || {};
    const ex = exchange(view);
    const s = view.summary || {};
    if (!o.compact) {
      const link = location.origin + TH.requestUrl(view.request_id);
      container.appendChild(h("div", { class: "req-head" },
        h("h1", { class: "page-title" }, "Request ", h("span", { class: "mono id", text: view.request_id }), " ", TH.statusBadge(s.status), " ", failingPill(view)),
        h("div", { class: "actions" }, TH.copyButton("Copy link", link), TH.copyButton("Copy id", view.request_id),
          h("a", { class: "btn small", href: "/api/v1/requests/" + encodeURIComponent(view.request_id), text: "JSON" }))));
    }
    container.appendChild(TH.facts([
      ["started", TH.time(s.start_time)],
      ["duration", TH.duration(s.duration_ms)],
      ["service", s.service],
      ["session", view.session_id ? h("a", { href: TH.sessionUrl(view.session_id), class: "mono", text: view.session_id }) : null],
      ["user", view.user_id],
      ["trace", h("span", { class: "mono", text: view.trace_id })],
      ["models", (s.models || []).join(", ")],
      ["tokens", s.input_tokens || s.output_tokens ? s.input_tokens + " in · " + s.output_tokens + " out" : null],
      ["cost", typeof s.cost_usd === "number" && s.llm_calls ? "$" + s.cost_usd.toFixed(5) : null],
      ["finish", (s.finish_reasons || []).join(", ")],
      ["spans", String(s.span_count)],
    ]));
    container.appendChild(versionBadges(view.versions));
    const scores = scoreList(view.scores);
    if (scores) container.appendChild(TH.card("Scores and feedback", scores));
    const failing = failingBanner(view.reasons);
    if (failing) container.appendChild(failing);
    container.appendChild(exchangeCard(ex));
    container.appendChild(waterfall(view, ex.spans.length));
    if (view.unattached_logs && view.unattached_logs.length) {
      container.appendChild(TH.lazyDetails(view.unattached_logs.length + " log records naming no stored span", () => logList(view.unattached_logs)));
    }
    return container;
  }

  /** The span tree as a waterfall, next to the selected span's detail. */
  function waterfall(view, total) {
    const roots = view.spans;
    let min = null;
    let max = null;
    for (const { node } of flatten(roots)) {
      const st = BigInt(String(node.start_unix_nano));
      const en = BigInt(String(node.end_unix_nano || node.start_unix_nano));
      if (min === null || st < min) min = st;
      if (max === null || en > max) max = en;
    }
    const span = max !== null && max > min ? Number(max - min) : 1;
    const pos = (nanos) => (Number(BigInt(String(nanos)) - min) / span) * 100;

    const rows = h("div", { class: "wf-rows", role: "tree" });
    const detail = h("div", { class: "wf-detail" }, h("p", { class: "muted", text: "Select a span to see its evidence." }));
    let selected = null;

    const select = (node, row) => {
      if (selected) selected.classList.remove("selected");
      selected = row;
      row.classList.add("selected");
      TH.fill(detail, spanDetail(node));
    };

    const rowOf = (node, depth, openAll) => {
      const hasKids = node.children.length > 0;
      const wrap = h("div", { class: "wf-node" });
      const toggle = h("button", { type: "button", class: "wf-toggle", "aria-label": "expand", text: hasKids ? "▸" : "" });
      if (!hasKids) toggle.disabled = true;
      const left = pos(node.start_unix_nano);
      const width = Math.max(0.4, pos(node.end_unix_nano || node.start_unix_nano) - left);
      const row = h("div", { class: "wf-row" + (node.status === "error" ? " error" : ""), role: "treeitem", tabindex: "0", dataset: { spanId: node.span_id } },
        h("div", { class: "wf-label", style: "--depth:" + depth }, toggle, TH.kindChip(node.kind), h("span", { class: "wf-name", text: node.name, title: node.name }),
          hasKids ? h("span", { class: "muted small", text: " " + node.children.length }) : null),
        h("div", { class: "wf-track" }, h("div", { class: "wf-bar kind-bg-" + (node.kind || "other"), style: "left:" + left.toFixed(3) + "%;width:" + width.toFixed(3) + "%" })),
        h("div", { class: "wf-dur num", text: TH.duration(node.duration_ms) }));
      const kids = h("div", { class: "wf-kids", hidden: true });
      let rendered = 0;
      const renderMore = () => {
        const end = Math.min(node.children.length, rendered + CHILD_PAGE);
        const frag = document.createDocumentFragment();
        for (let i = rendered; i < end; i++) frag.appendChild(rowOf(node.children[i], depth + 1, openAll));
        rendered = end;
        const old = kids.querySelector(":scope > .wf-more");
        if (old) old.remove();
        kids.appendChild(frag);
        if (rendered < node.children.length) {
          kids.appendChild(h("button", { type: "button", class: "linkish wf-more", style: "--depth:" + (depth + 1),
            text: "Show " + Math.min(CHILD_PAGE, node.children.length - rendered) + " more of " + (node.children.length - rendered) + " spans", onclick: renderMore }));
        }
      };
      const setOpen = (open) => {
        if (open && rendered === 0) renderMore();
        kids.hidden = !open;
        toggle.textContent = hasKids ? (open ? "▾" : "▸") : "";
        toggle.setAttribute("aria-expanded", String(open));
      };
      toggle.addEventListener("click", (e) => {
        e.stopPropagation();
        setOpen(kids.hidden);
      });
      row.addEventListener("click", () => select(node, row));
      row.addEventListener("keydown", (e) => {
        if (e.key === "Enter") select(node, row);
        if (e.key === "ArrowRight" && hasKids) setOpen(true);
        if (e.key === "ArrowLeft" && hasKids) setOpen(false);
      });
      wrap.appendChild(row);
      wrap.appendChild(kids);
      if (hasKids && (openAll || depth === 0)) setOpen(true);
      return wrap;
    };

    const openAll = total < OPEN_ALL_BELOW;
    const frag = document.createDocumentFragment();
    roots.forEach((r) => frag.appendChild(rowOf(r, 0, openAll)));
    rows.appendChild(frag);

    // Start on the first LLM call: the evidence most often wanted.
    const firstLlm = flatten(roots).find((e) => e.node.kind === "llm");
    const first = firstLlm ? firstLlm.node : roots[0];
    if (first) {
      const row = rows.querySelector('.wf-row[data-span-id="' + CSS.escape(first.span_id) + '"]');
      if (row) select(first, row);
      else TH.fill(detail, spanDetail(first));
    }
    return h("section", { class: "card waterfall" },
      h("h2", {}, "Spans ", h("span", { class: "muted small", text: total + " in all · " + TH.duration(span / 1e6) })),
      h("div", { class: "wf-legend" }, ["llm", "tool", "retrieval", "embedding", "agent", "chain"].map((k) => TH.kindChip(k))),
      h("div", { class: "wf-grid" }, h("div", { class: "wf-tree" }, rows), detail));
  }

  /** Messages by role, with tool calls and tool results told apart. */
  function messageList(messages, title) {
    if (!messages || !messages.length) return null;
    return h("div", { class: "messages" }, h("div", { class: "label", text: title }),
      messages.map((m) => h("div", { class: "msg role-" + (m.role || "other") },
        h("div", { class: "msg-role" }, m.role || "?", m.name ? h("span", { class: "muted", text: " " + m.name }) : null,
          m.finish_reason ? h("span", { class: "pill", text: "finish: " + m.finish_reason }) : null),
        (m.parts || []).map(partBlock))));
  }

  function partBlock(part) {
    switch (part.type) {
      case "text":
        return TH.longText(part.content);
      case "reasoning":
        return h("div", { class: "part reasoning" }, h("div", { class: "label", text: "reasoning" }), TH.longText(part.content));
      case "tool_call":
        return h("div", { class: "part call" }, h("div", { class: "label" }, "calls ", h("strong", { class: "mono", text: part.name }), part.id ? h("span", { class: "muted mono", text: " " + part.id }) : null),
          TH.jsonText(part.arguments || ""));
      case "tool_call_response":
        return h("div", { class: "part result" }, h("div", { class: "label" }, "tool result", part.id ? h("span", { class: "muted mono", text: " " + part.id }) : null),
          TH.jsonText(part.response || ""));
      default:
        return h("div", { class: "part other" }, h("div", { class: "label", text: part.part_type || part.type }), TH.jsonText(part.value === undefined ? part : part.value));
    }
  }

  function llmBlock(llm) {
    const served = llm.response_model;
    const requested = llm.request_model;
    const model = h("span", {}, h("span", { class: "mono", text: requested || "?" }),
      served && served !== requested ? [" → served ", h("span", { class: "mono strong", text: served })] : null);
    const u = llm.usage || {};
    const tokens = ["input", "output", "total", "cache_read", "cache_write", "reasoning"].filter((k) => u[k] !== undefined && u[k] !== null).map((k) => k.replace("_", " ") + " " + u[k]).join(" · ");
    const params = Object.entries(llm.parameters || {}).map(([k, v]) => k + "=" + (typeof v === "string" ? v : JSON.stringify(v))).join("  ");
    return h("div", { class: "llm" },
      TH.facts([
        ["model", model],
        ["provider", llm.provider],
        ["operation", llm.operation],
        ["finish", (llm.finish_reasons || []).join(", ")],
        ["tokens", tokens],
        ["parameters", params],
        ["response id", llm.response_id],
        ["fingerprint", llm.system_fingerprint],
      ]),
      llm.system_instructions ? h("div", { class: "messages" }, h("div", { class: "label", text: "system instructions" }), TH.longText(llm.system_instructions, { class: "system" })) : null,
      messageList(llm.input_messages, "input messages"),
      messageList(llm.output_messages, "output messages"),
      llm.embedding_inputs && llm.embedding_inputs.length ? h("div", {}, h("div", { class: "label", text: "embedding inputs" }), llm.embedding_inputs.map((t) => TH.longText(t))) : null,
      llm.tool_definitions ? TH.lazyDetails("tool definitions", () => TH.jsonText(llm.tool_definitions)) : null);
  }

  function retrievalBlock(r) {
    const docs = r.documents || [];
    const top = Math.max(1e-9, ...docs.map((d) => (typeof d.score === "number" ? Math.abs(d.score) : 0)));
    return h("div", { class: "retrieval" },
      TH.facts([["query", r.query], ["source", r.data_source], ["top k", r.top_k]]),
      h("div", { class: "label", text: docs.length + " documents" }),
      h("ol", { class: "docs" }, docs.map((d) => h("li", { class: "doc" },
        h("div", { class: "doc-head" }, h("span", { class: "mono strong", text: d.id || "(no id)" }),
          typeof d.score === "number" ? h("span", { class: "scorebar", title: "score " + d.score }, h("span", { style: "width:" + ((Math.abs(d.score) / top) * 100).toFixed(1) + "%" })) : null,
          typeof d.score === "number" ? h("span", { class: "num", text: d.score.toFixed(4) }) : null),
        TH.longText(d.content || "", { limit: 800 }),
        d.metadata ? h("div", { class: "muted small mono", text: d.metadata }) : null))));
  }

  function logList(logs) {
    return h("ul", { class: "logs" }, logs.map((l) => h("li", {},
      h("span", { class: "mono", text: TH.nanosToTime(l.time_unix_nano) + " " }), h("strong", { text: l.event_name || "log" }),
      l.body !== undefined && l.body !== null ? TH.jsonText(typeof l.body === "string" ? l.body : JSON.stringify(l.body)) : null)));
  }

  function attributeTable(attrs) {
    const entries = Object.entries(attrs || {});
    if (!entries.length) return h("p", { class: "muted", text: "none" });
    return h("table", { class: "attrs" }, h("tbody", {}, entries.map(([k, v]) =>
      h("tr", {}, h("th", { class: "mono", text: k }), h("td", {}, TH.longText(typeof v === "string" ? v : JSON.stringify(v), { limit: 600 }))))));
  }

  /** Everything about one span. */
  function spanDetail(node) {
    const versions = Object.entries(node.versions || {}).map(([d, v]) => [d, [v]]);
    const raw = node.raw || {};
    return h("div", { class: "span-detail" },
      h("div", { class: "sd-head" }, TH.kindChip(node.kind), h("h3", { class: "mono", text: node.name }), TH.statusBadge(node.status)),
      TH.facts([
        ["duration", TH.duration(node.duration_ms)],
        ["started", TH.nanosToTime(node.start_unix_nano)],
        ["span id", node.span_id],
        ["parent", node.parent_span_id],
        ["subkind", node.subkind],
        ["service", node.service],
      ]),
      versions.length ? versionBadges(Object.fromEntries(versions)) : null,
      Object.keys(node.redactions || {}).length
        ? h("p", { class: "muted small redactions", text: "redacted at ingest: " + Object.entries(node.redactions).map(([rule, n]) => n + " " + rule).join(", ") })
        : null,
      node.error || node.status === "error"
        ? h("div", { class: "errors" }, h("strong", { text: (node.error && node.error.error_type) || "error" }),
          TH.longText((node.error && node.error.message) || node.status_message || "", { class: "error-text" }),
          node.error && node.error.stacktrace ? TH.lazyDetails("stack trace", () => TH.longText(node.error.stacktrace)) : null)
        : null,
      node.llm ? llmBlock(node.llm) : null,
      node.tool ? toolBlock(node) : null,
      node.retrieval ? retrievalBlock(node.retrieval) : null,
      !node.tool && node.input_value && !(node.llm && (node.llm.input_messages || []).length)
        ? h("div", { class: "raw-io" }, h("div", { class: "label", text: "input" }), TH.jsonText(node.input_value)) : null,
      !node.tool && node.output_value && !(node.llm && (node.llm.output_messages || []).length)
        ? h("div", { class: "raw-io" }, h("div", { class: "label", text: "output" }), TH.jsonText(node.output_value)) : null,
      scoreList(node.scores),
      node.logs && node.logs.length ? TH.lazyDetails(node.logs.length + " log records", () => logList(node.logs)) : null,
      raw.events && raw.events.length ? TH.lazyDetails(raw.events.length + " events", () => h("ul", { class: "logs" }, raw.events.map((e) =>
        h("li", {}, h("strong", { text: e.name }), attributeTable(Object.fromEntries((e.attributes || []).map((kv) => [kv.key, kv.value]))))))) : null,
      TH.lazyDetails("Raw attributes", () => h("div", {},
        h("div", { class: "label", text: "span" }), attributeTable(node.attributes),
        h("div", { class: "label", text: "resource" }), attributeTable(node.resource),
        raw.scope_name ? h("div", { class: "muted small", text: "scope " + raw.scope_name + " " + (raw.scope_version || "") }) : null), { class: "fold raw" }));
  }

  TH.trace = { renderRequest, exchange, messageText, versionBadges, failingPill, statusBadge: TH.statusBadge };
})();

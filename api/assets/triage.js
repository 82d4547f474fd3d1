// Triage: the verdict beside the quality series, with the onset and the change markers.
// Reads /api/v1/triage. The chart is a few SVG lines drawn here: one series and some
// markers do not justify a charting library in an embedded, dependency-free UI.
"use strict";

(function () {
  const { h } = TH;
  const SVG = "http://www.w3.org/2000/svg";

  function svg(tag, attrs, ...children) {
    const node = document.createElementNS(SVG, tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null) continue;
      if (key === "text") node.textContent = value;
      else node.setAttribute(key, String(value));
    }
    for (const child of children.flat()) if (child) node.appendChild(child);
    return node;
  }

  const pct = (x) => (x * 100).toFixed(1) + "%";
  const ms = (t) => Date.parse(t);

  /** The suspect share per bucket as a line, the onset as a red rule, changes as ticks. */
  function chart(t) {
    const points = (t.series || []).filter((p) => p.requests > 0);
    if (points.length < 2) return h("p", { class: "muted", text: "Too few requests to draw the series." });
    const W = 960, H = 220, L = 44, R = 12, T = 14, B = 28;
    const lo = ms(t.window.since), hi = Math.max(ms(t.window.until), lo + 1);
    const top = Math.min(1, Math.max(0.1, ...points.map((p) => p.share)) * 1.1);
    const x = (at) => L + ((ms(at) - lo) / (hi - lo)) * (W - L - R);
    const y = (share) => T + (1 - share / top) * (H - T - B);
    const path = points.map((p, i) => (i ? "L" : "M") + x(p.at).toFixed(1) + " " + y(p.share).toFixed(1)).join(" ");
    const grid = [0, 0.25, 0.5, 0.75, 1].map((f) => {
      const share = f * top;
      return svg("g", {},
        svg("line", { x1: L, x2: W - R, y1: y(share), y2: y(share), class: "grid" }),
        svg("text", { x: L - 6, y: y(share) + 4, class: "axis-label", "text-anchor": "end", text: pct(share) }));
    });
    const marks = [];
    const changes = (t.ruled_out || []).map((r) => ({ at: r.first_seen, label: r.dimension + "=" + r.value, cause: false }));
    if (t.dimension && t.value && t.cause_first_seen) {
      changes.push({ at: t.cause_first_seen, label: t.dimension + "=" + t.value, cause: true });
    }
    for (const c of changes) {
      const at = ms(c.at);
      if (Number.isNaN(at) || at < lo || at > hi) continue;
      marks.push(svg("line", { x1: x(c.at), x2: x(c.at), y1: H - B, y2: H - B + 8, class: c.cause ? "mark cause" : "mark" },
        svg("title", { text: c.label + " first seen " + c.at })));
    }
    let onset = null;
    if (t.onset) {
      onset = svg("g", { class: "onset" },
        svg("line", { x1: x(t.onset), x2: x(t.onset), y1: T, y2: H - B }),
        svg("text", { x: x(t.onset) + 4, y: T + 10, text: "onset " + TH.time(t.onset).slice(11, 19) }));
    }
    return svg("svg", { viewBox: "0 0 " + W + " " + H, class: "series", role: "img", "aria-label": "suspect share over time" },
      grid,
      svg("path", { d: path, class: "line" }),
      onset,
      marks,
      svg("text", { x: L, y: H - 4, class: "axis-label", text: TH.time(t.window.since) }),
      svg("text", { x: W - R, y: H - 4, class: "axis-label", "text-anchor": "end", text: TH.time(t.window.until) }));
  }

  function headline(t) {
    if (!t.shift) return TH.notice("info", "Not enough data", (t.steps[0] && t.steps[0].finding) || "");
    if (!t.incident) {
      return TH.notice("info", "No incident", "The suspect share moved from " + pct(t.shift.suspect_share_before) + " to " +
        pct(t.shift.suspect_share_after) + ", within noise (permutation p = " + t.shift.p_value.toFixed(3) + "). No layer is named.");
    }
    if (!t.layer) {
      return TH.notice("error", "Quality shifted at " + TH.time(t.onset), "No changed value explains the shift; read the evidence and the signals that moved.");
    }
    return h("section", { class: "card verdict" },
      h("h2", {}, "Cause: ", h("span", { class: "pill layer", text: t.layer }), " ",
        h("span", { class: "mono strong", text: t.dimension + " = " + t.value }),
        t.previous ? h("span", { class: "muted", text: " (was " + t.previous + ")" }) : null),
      TH.facts([
        ["Onset", TH.time(t.onset)],
        ["Step interval (95%)", TH.time(t.shift.interval[0]) + " – " + TH.time(t.shift.interval[1])],
        ["Suspect share", pct(t.shift.suspect_share_before) + " → " + pct(t.shift.suspect_share_after)],
        ["Explains", pct(t.explains) + " of the excess"],
        ["Confidence", t.confidence.toFixed(2)],
        ["Affected", t.affected.requests + " requests (" + pct(t.affected.share) + " of traffic after the onset)"],
        ["Services", t.affected.services.join(", ")],
      ]));
  }

  async function triage() {
    const main = TH.page("Triage", "which layer changed");
    main.appendChild(TH.windowForm());
    const holder = h("div", {}, h("p", { class: "muted loading", text: "Triaging…" }));
    main.appendChild(holder);
    const answer = await TH.api("/api/v1/triage?" + TH.windowQuery());
    holder.replaceChildren();
    if (!answer.ok) return holder.appendChild(TH.notice("error", "Triage could not run", TH.errorText(answer)));
    const t = answer.body;
    holder.appendChild(headline(t));
    holder.appendChild(TH.card("Suspect share over time", chart(t),
      h("p", { class: "muted small", text: "Red rule: the onset. Ticks: changed values (red: the cause); hover for names." })));
    if ((t.evidence || []).length) {
      holder.appendChild(TH.card("Evidence", h("ul", { class: "evidence" }, t.evidence.map((e) => h("li", {},
        h("span", { text: e.statement }),
        e.test ? h("div", { class: "muted small", text: "test: " + e.test + (e.p_value !== undefined ? ", p = " + e.p_value.toExponential(2) : "") }) : null,
        (e.requests || []).length ? h("div", { class: "small" }, "open: ", e.requests.map((id) => [h("a", { href: "/r/" + encodeURIComponent(id), class: "mono", text: id }), " "])) : null)))));
    }
    if ((t.ruled_out || []).length) {
      holder.appendChild(TH.card("Ruled out", h("table", { class: "ruled-out" },
        h("thead", {}, h("tr", {}, ["layer", "dimension", "value", "verdict", "why"].map((c) => h("th", { text: c })))),
        h("tbody", {}, t.ruled_out.map((r) => h("tr", { dataset: { dimension: r.dimension, value: r.value } },
          h("td", { text: r.layer }), h("td", { text: r.dimension + (r.scope ? " [" + r.scope + "]" : "") }),
          h("td", { class: "mono", text: r.value }), h("td", { text: r.verdict.replace(/_/g, " ") }),
          h("td", { class: "small", text: r.reason })))))));
    }
    holder.appendChild(TH.card("Steps, in the triage order", h("ol", { class: "steps" },
      t.steps.map((s) => h("li", { dataset: { layer: s.layer } }, h("strong", { text: s.layer + ": " }), s.finding,
        h("div", { class: "muted small", text: "checked: " + s.checked }))))));
    if ((t.drift || []).length) {
      holder.appendChild(TH.card("Signals that moved", h("table", {},
        h("tbody", {}, t.drift.map((d) => h("tr", {}, h("td", { text: d.signal }), h("td", { text: d.before + " → " + d.after }),
          h("td", { class: "small", text: d.test + ", p_holm " + d.p_holm.toExponential(1) })))))));
    }
  }

  Object.assign((TH.pages = TH.pages || {}), { triage });
})();

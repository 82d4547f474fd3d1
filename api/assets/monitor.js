// Monitor: one quality metric over time, one line per series, with version changes as
// dashed rules and what the alert rules would have fired as red bands. Dragging across the
// chart opens triage for that stretch. Reads /api/v1/series, /api/v1/versions,
// /api/v1/alerts/backtest and /api/v1/evals (each evaluator's mean score is a metric here,
// and online evaluation's state a card); draws with uPlot (vendor/uPlot.iife.min.js, served
// from the binary), which handles many series, zoom-free selection and hover legends.
"use strict";

(function () {
  const { h } = TH;
  const METRICS = [
    "suspect_share", "failing_share", "abstention_share", "error_share", "refusal_share", "truncated_share",
    "tool_error_share", "language_mismatch_share", "latency_p50", "latency_p95", "latency_p99",
    "tokens", "cost_per_request", "requests",
  ];
  const COLORS = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#ca8a04", "#db2777", "#4b5563", "#65a30d", "#94a3b8"];

  const seconds = (rfc3339) => Date.parse(rfc3339) / 1000;
  const iso = (secs) => new Date(secs * 1000).toISOString();

  function select(name, value, options) {
    return h("label", {}, name.replace("_", " ") + " ",
      h("select", { name }, options.map(([v, label]) => {
        const option = h("option", { value: v, text: label });
        if (v === value) option.selected = true;
        return option;
      })));
  }

  /** The series answer as uPlot's columns: times, then one column per series. */
  function columns(answer) {
    const first = answer.series[0];
    const xs = first ? first.points.map((p) => seconds(p.time)) : [];
    return [xs, ...answer.series.map((s) => s.points.map((p) => (p.value === null ? null : p.value)))];
  }

  function label(s) {
    const entries = Object.entries(s.labels || {});
    return entries.length ? entries.map(([k, v]) => k + "=" + v).join(" ") : "all traffic";
  }

  /** Draws change rules and firing bands under the lines. */
  function overlays(changes, firings, endSecs) {
    return (u) => {
      const { ctx } = u;
      const { top, height, left, width } = u.bbox;
      ctx.save();
      for (const f of firings) {
        const from = u.valToPos(seconds(f.fired_at), "x", true);
        const to = u.valToPos(f.resolved_at ? seconds(f.resolved_at) : endSecs, "x", true);
        const x0 = Math.max(left, from), x1 = Math.min(left + width, to);
        if (x1 <= x0) continue;
        ctx.fillStyle = "rgba(220, 38, 38, 0.12)";
        ctx.fillRect(x0, top, x1 - x0, height);
      }
      ctx.setLineDash([4, 4]);
      ctx.strokeStyle = "#6b7280";
      ctx.lineWidth = 1;
      for (const c of changes) {
        const x = u.valToPos(seconds(c.first_seen), "x", true);
        if (x < left || x > left + width) continue;
        ctx.beginPath();
        ctx.moveTo(x, top);
        ctx.lineTo(x, top + height);
        ctx.stroke();
      }
      ctx.restore();
    };
  }

  function chart(holder, answer, changes, firings) {
    const share = answer.metric.endsWith("_share");
    const data = columns(answer);
    const endSecs = seconds(answer.window.until);
    const width = Math.max(480, holder.clientWidth || 960);
    const opts = {
      width,
      height: 320,
      scales: { x: { time: true }, y: share ? { range: (u, lo, hi) => [0, Math.max(0.05, hi * 1.1)] } : {} },
      axes: [{}, { values: (u, ticks) => ticks.map((t) => (share ? (t * 100).toFixed(0) + "%" : String(t))) }],
      series: [{}, ...answer.series.map((s, i) => ({
        label: label(s),
        stroke: COLORS[i % COLORS.length],
        width: 1.5,
        spanGaps: false,
        value: (u, v) => (v === null || v === undefined ? "–" : share ? (v * 100).toFixed(1) + "%" : v.toFixed(3)),
      }))],
      cursor: { drag: { x: true, y: false, setScale: false } },
      hooks: {
        drawClear: [overlays(changes, firings, endSecs)],
        setSelect: [(u) => {
          if (u.select.width < 2) return;
          const from = u.posToVal(u.select.left, "x");
          const to = u.posToVal(u.select.left + u.select.width, "x");
          location.href = "/triage?" + new URLSearchParams({ since: iso(from), until: iso(to) });
        }],
      },
    };
    // eslint-disable-next-line no-new, no-undef
    return new uPlot(opts, data, holder);
  }

  /** Online evaluation's state: what is sampled and judged, the queue, failures, spend. */
  function evaluationCard(s) {
    const rows = [
      ["sampling", s.enabled ? (s.sample_rate * 100).toFixed(2).replace(/\.?0+$/, "") + "% of requests" +
        (s.services.length ? ", services " + s.services.join(", ") : "") +
        (s.versions.length ? ", versions " + s.versions.join(", ") : "") : "off (backfill runs only)"],
      ["checks", s.checks.length ? s.checks.join(", ") : "none"],
      ["judge", s.judge ? s.judge.model + " at " + s.judge.url + (s.scorecard ? "; scorecard " + s.scorecard.name +
        " v" + s.scorecard.version + " (" + s.scorecard.criteria.join(", ") + ")" : "")
        : s.external_scorers ? "external scorers (leases)" : "none"],
      ["queue", s.backlog + " waiting, " + s.due + " due, lag " + s.lag_seconds.toFixed(1) + " s; judged " + s.judged +
        ", given up " + s.failed],
      ["judge calls", s.judge_calls + " (" + s.judge_failures + " failed)" +
        (s.last_error ? "; last failure " + TH.time(s.last_error_at) + ": " + s.last_error : "")],
      ["spend " + s.spend.day, s.spend.calls + " calls, " + s.spend.tokens + " tokens, $" + s.spend.cost_usd.toFixed(4) +
        (s.spend.budget_tokens !== null && s.spend.budget_tokens !== undefined ? ", budget " + s.spend.budget_tokens + " tokens" : "") +
        (s.spend.budget_usd !== null && s.spend.budget_usd !== undefined ? ", budget $" + s.spend.budget_usd.toFixed(2) : "") +
        (s.spend.exhausted ? " — spent: judging waits for the next UTC day" : "")],
    ];
    return TH.card("Online evaluation", h("table", { class: "evals" },
      h("tbody", {}, rows.map(([k, v]) => h("tr", {}, h("th", { text: k }), h("td", { text: v }))))),
      h("p", { class: "muted small", text: "Pick score_mean:<evaluator> above for its scores over time." }));
  }

  async function monitor() {
    const main = TH.page("Monitor", "quality over time");
    const metric = TH.param("metric") || "suspect_share";
    const by = TH.param("by") || "";
    const query = TH.windowQuery();
    const [versions, backtest, evals] = await Promise.all([
      TH.api("/api/v1/versions?" + query),
      TH.api("/api/v1/alerts/backtest?" + query),
      TH.api("/api/v1/evals"),
    ]);
    const dimensions = versions.ok ? versions.body.dimensions.filter((d) => !d.per_request).map((d) => d.dimension) : [];
    const splits = [["", "all traffic"], ["service", "service"], ["language", "language"], ...dimensions.map((d) => [d, d])];
    // Each evaluator's mean score over time: the checks', and the scorecard's criteria.
    const evaluators = evals.ok
      ? [...(evals.body.scorecard ? evals.body.scorecard.criteria : []), ...evals.body.checks].map((n) => "score_mean:" + n)
      : [];
    const known = [...METRICS, ...evaluators];
    const metrics = known.includes(metric) ? known : [metric, ...known];
    main.appendChild(TH.windowForm([select("metric", metric, metrics.map((m) => [m, m])), select("by", by, splits)]));

    const seriesQuery = new URLSearchParams(query);
    seriesQuery.set("metric", metric);
    if (by) seriesQuery.set("by", by);
    const answer = await TH.api("/api/v1/series?" + seriesQuery);
    if (!answer.ok) return main.appendChild(TH.notice("error", "The series could not be read", TH.errorText(answer)));
    const series = answer.body;
    const changes = versions.ok ? versions.body.changes : [];
    const firings = backtest.ok ? backtest.body.firings : [];

    const holder = h("div", { class: "monitor-chart" });
    const triageLink = h("a", { class: "btn", href: "/triage?" + query, text: "Triage this window" });
    main.appendChild(TH.card(series.metric + (series.by ? " by " + series.by : ""), holder,
      h("p", { class: "muted small" },
        "Dashed rules: version changes. Red bands: what the alert rules (" + (backtest.ok ? backtest.body.rules_source : "?") +
        ") would have fired. Drag across the chart to triage that stretch. ", triageLink)));
    if (!series.series.length) {
      holder.appendChild(h("p", { class: "muted", text: "No requests in the window." }));
    } else {
      chart(holder, series, changes, firings);
    }
    if (!backtest.ok) main.appendChild(TH.notice("error", "The alert rules could not be replayed", TH.errorText(backtest)));

    main.appendChild(TH.card("Alerts the rules would have fired", firings.length
      ? h("table", { class: "firings" },
        h("thead", {}, h("tr", {}, ["rule", "series", "fired", "resolved", "share", "threshold", "baseline"].map((c) => h("th", { text: c })))),
        h("tbody", {}, firings.map((f) => h("tr", { dataset: { rule: f.rule } },
          h("td", { text: f.rule }), h("td", { class: "mono", text: label(f) }),
          h("td", {}, h("a", { href: "/triage?" + new URLSearchParams({ since: iso(seconds(f.fired_at) - 3 * 3600), until: f.resolved_at || series.window.until }), text: TH.time(f.fired_at) })),
          h("td", { text: f.resolved_at ? TH.time(f.resolved_at) : "still firing" }),
          h("td", { text: (f.value * 100).toFixed(1) + "%" }), h("td", { text: (f.threshold * 100).toFixed(1) + "%" }),
          h("td", { text: (f.baseline * 100).toFixed(1) + "%" })))))
      : h("p", { class: "muted", text: "Nothing would have fired in this window." })));

    if (evals.ok) main.appendChild(evaluationCard(evals.body));

    main.appendChild(TH.card("Version changes in the window", changes.length
      ? h("table", { class: "changes" },
        h("tbody", {}, changes.map((c) => h("tr", { dataset: { dimension: c.dimension, value: c.value } },
          h("td", { text: c.dimension }), h("td", { class: "mono", text: c.value }), h("td", { text: TH.time(c.first_seen) })))))
      : h("p", { class: "muted", text: "No version value first seen in this window." })));
  }

  Object.assign((TH.pages = TH.pages || {}), { monitor });
})();

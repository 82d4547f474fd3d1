//! The postmortem bundle as Markdown, ready to paste into a postmortem document.
//!
//! Stored texts (prompts, outputs, tool results, documents) go into fenced blocks whose
//! fence is longer than any backtick run inside, so no text can break out of its block.

use std::fmt::Write as _;

use tracehound_store::model::{Message, MessagePart};

use crate::failing::FailingExample;
use crate::postmortem::Postmortem;

/// Renders the bundle.
pub fn render(pm: &Postmortem) -> String {
    let mut md = String::new();
    let _ = write_all(pm, &mut md);
    md
}

fn write_all(pm: &Postmortem, md: &mut String) -> std::fmt::Result {
    writeln!(md, "# Postmortem evidence: {} to {}\n", pm.window.since, pm.window.until)?;
    writeln!(md, "Baseline: {} to {}.\n", pm.baseline.since, pm.baseline.until)?;

    let s = &pm.scope;
    writeln!(md, "## Scope\n")?;
    writeln!(md, "- Requests in the window: {}", s.requests)?;
    writeln!(md, "- Failing: {} ({:.1}%)", s.failing, s.failing_share * 100.0)?;
    writeln!(md, "- Sessions: {} ({} with a failing request)", s.sessions, s.failing_sessions)?;
    writeln!(md, "- Users: {} ({} with a failing request)", s.users, s.failing_users)?;
    let reasons: Vec<String> = s.by_reason.iter().map(|(k, n)| format!("{k}: {n}")).collect();
    writeln!(md, "- Failing by reason: {}", if reasons.is_empty() { "-".into() } else { reasons.join(", ") })?;
    if !s.cohorts.is_empty() {
        writeln!(md, "\n| cohort | value | requests | failing | failing share |\n|---|---|---|---|---|")?;
        for c in &s.cohorts {
            writeln!(
                md,
                "| {} | {} | {} | {} | {:.0}% |",
                cell(&c.dimension),
                cell(&c.value),
                c.requests,
                c.failing,
                c.failing_share * 100.0
            )?;
        }
    }

    let d = &pm.detection;
    writeln!(md, "\n## Detection\n")?;
    match (&d.first_failing_at, &d.first_failing_request) {
        (Some(at), Some(id)) => writeln!(md, "- First failing request: `{}` at {at}", code(id))?,
        _ => writeln!(md, "- No failing request in the window")?,
    }
    let method = if d.method == "scores" {
        format!("scores ({} evaluation or feedback scores on requests of the window)", d.scores_seen)
    } else {
        "errors and heuristics only (error status, finish reasons, refusal phrases); no scores were recorded"
            .to_string()
    };
    writeln!(md, "- Detection method available: {method}")?;

    writeln!(md, "\n## Versions in production\n")?;
    writeln!(
        md,
        "| dimension | value | requests | failing share | mean scores | first seen |\n|---|---|---|---|---|---|"
    )?;
    for dim in pm.versions.iter().filter(|d| !d.per_request) {
        for v in &dim.values {
            let mean = if v.scores.is_empty() {
                "-".to_string()
            } else {
                let means: Vec<String> =
                    v.scores.iter().map(|(name, s)| format!("{} {:.2} (n={})", cell(name), s.mean, s.count)).collect();
                means.join(", ")
            };
            let first = v.first_seen_ever.as_deref().unwrap_or(&v.first_seen);
            writeln!(
                md,
                "| {} | {} | {} | {:.0}% | {mean} | {first} |",
                dim.dimension,
                cell(&v.value),
                v.request_count,
                v.failing_share * 100.0
            )?;
        }
    }

    for dim in pm.versions.iter().filter(|d| d.per_request) {
        writeln!(
            md,
            "\n`{}` took {} different values in {} requests: it varies per request, so it is not listed as a version.",
            dim.dimension,
            dim.values.len(),
            pm.scope.requests
        )?;
    }

    writeln!(md, "\n## Changes in the 48 hours before\n")?;
    if pm.changes.is_empty() {
        writeln!(md, "No version value replaced another in the 48 hours before the window or during it.")?;
    }
    for c in &pm.changes {
        let e = &c.evidence;
        writeln!(
            md,
            "- {}: {} `{}` first seen (none of the {} requests before carried it, {} of the {} after did; p = {:.2e})",
            c.first_seen,
            c.dimension,
            code(&c.value),
            e.requests_before,
            e.carrying_after,
            e.requests_after,
            e.p_value
        )?;
    }
    if !pm.changes.is_empty() {
        writeln!(
            md,
            "\nA value counts as a change when, had it been live all along, it would almost surely have \
             shown among the requests before it (one-sided hypergeometric test, 5 % over the candidates)."
        )?;
    }

    writeln!(md, "\n## Timeline\n")?;
    writeln!(md, "| time | event | since previous |\n|---|---|---|")?;
    for e in &pm.timeline {
        let delta = e.delta_seconds.map_or("-".to_string(), human_seconds);
        writeln!(md, "| {} | {} | {delta} |", e.at, cell(&e.event))?;
    }

    writeln!(md, "\n## Evidence: failing requests\n")?;
    if pm.evidence.is_empty() {
        writeln!(md, "No failing request in the window.")?;
    }
    for (i, example) in pm.evidence.iter().enumerate() {
        write_example(i + 1, example, md)?;
    }

    writeln!(md, "\n## Classification hints\n")?;
    if pm.triage.shift.is_some() {
        writeln!(md, "From the triage verdict, in the triage order. {}\n", triage_line(&pm.triage))?;
    } else {
        writeln!(md, "Too few requests for triage; from the comparison with the baseline.\n")?;
    }
    writeln!(md, "| layer | verdict | why |\n|---|---|---|")?;
    for h in &pm.hints {
        writeln!(md, "| {} | {} | {} |", h.layer, h.verdict.replace('_', " "), cell(&h.reason))?;
    }
    let ruled_out: Vec<_> = pm.hints.iter().filter(|h| h.verdict == "ruled_out").collect();
    writeln!(md, "\n### Ruled out\n")?;
    if ruled_out.is_empty() {
        writeln!(md, "Nothing could be ruled out.")?;
    }
    for h in ruled_out {
        writeln!(md, "- {}: {}", h.layer, h.reason)?;
    }
    let over = &pm.compare.over_represented;
    if !over.is_empty() {
        writeln!(md, "\n### Over-represented among failing requests\n")?;
        writeln!(md, "| dimension | value | failing with it | baseline share | lift |\n|---|---|---|---|---|")?;
        for o in over.iter().take(10) {
            writeln!(
                md,
                "| {} | {} | {}/{} | {:.0}% | {:+.2} |",
                cell(&o.dimension),
                cell(&o.value),
                o.failing_with_value,
                o.failing_total,
                o.baseline_share * 100.0,
                o.lift
            )?;
        }
    }
    Ok(())
}

fn write_example(n: usize, e: &FailingExample, md: &mut String) -> std::fmt::Result {
    writeln!(md, "### {n}. Request `{}`\n", code(&e.request_id))?;
    writeln!(md, "- Trace `{}`, started {}", e.trace_id, e.start_time)?;
    writeln!(
        md,
        "- Session `{}`, user `{}`",
        code(e.session_id.as_deref().unwrap_or("-")),
        code(e.user_id.as_deref().unwrap_or("-"))
    )?;
    for r in &e.reasons {
        writeln!(md, "- Reason **{}**: {}", r.kind, crate::text::one_line(&r.detail))?;
    }
    let versions: Vec<String> = e.versions.iter().map(|(d, v)| format!("{d}={}", v.join("/"))).collect();
    writeln!(
        md,
        "- Versions: {}",
        if versions.is_empty() { "-".into() } else { crate::text::one_line(&versions.join(", ")) }
    )?;
    for s in &e.scores {
        let value = s.value.map(|v| v.to_string()).or_else(|| s.label.clone()).unwrap_or_default();
        writeln!(
            md,
            "- Score {} = {} ({}, on {} {})",
            crate::text::one_line(&s.name),
            crate::text::one_line(&value),
            crate::text::one_line(&s.source),
            s.target_kind.as_str(),
            code(&s.target_id)
        )?;
    }
    if e.session_requests.len() > 1 {
        writeln!(md, "- Session context ({} requests, oldest first):", e.session_requests.len())?;
        for r in &e.session_requests {
            let marker = if r.request_id == e.request_id { " ← this request" } else { "" };
            writeln!(
                md,
                "  - `{}` {}: {}{marker}",
                code(&r.request_id),
                r.start_time,
                crate::text::one_line(r.question.as_deref().unwrap_or("-"))
            )?;
        }
    }
    for r in &e.retrievals {
        writeln!(md, "\n#### Retrieval `{}` ({})\n", code(&r.name), r.data_source.as_deref().unwrap_or("-"))?;
        if let Some(q) = &r.query {
            fenced(md, "query", q)?;
        }
        for d in &r.documents {
            let label = format!(
                "document {} (score {})",
                d.id.as_deref().unwrap_or("-"),
                d.score.map_or("-".into(), |s| s.to_string())
            );
            fenced(md, &label, d.content.as_deref().unwrap_or(""))?;
        }
    }
    for (i, call) in e.llm_calls.iter().enumerate() {
        let model = call.response_model.as_deref().or(call.request_model.as_deref()).unwrap_or("-");
        writeln!(
            md,
            "\n#### LLM call {} `{}` ({model}), finish: {}\n",
            i + 1,
            code(&call.name),
            call.finish_reasons.join(", ")
        )?;
        if let Some(system) = &call.system_instructions {
            fenced(md, "system instructions", system)?;
        }
        for m in &call.input_messages {
            fenced(md, &format!("input · {}", m.role), &message_text(m))?;
        }
        for m in &call.output_messages {
            fenced(md, &format!("output · {}", m.role), &message_text(m))?;
        }
    }
    for t in &e.tool_calls {
        writeln!(md, "\n#### Tool `{}` ({})\n", code(&t.name), t.status)?;
        if let Some(args) = &t.arguments {
            fenced(md, "arguments", args)?;
        }
        if let Some(result) = &t.result {
            fenced(md, "result", result)?;
        }
        if let Some(error) = &t.error {
            fenced(md, "error", error)?;
        }
    }
    writeln!(md)
}

/// A message's parts as text: text exact, tool calls and results marked.
fn message_text(m: &Message) -> String {
    let mut parts = Vec::new();
    for part in &m.parts {
        parts.push(match part {
            MessagePart::Text { content } => content.clone(),
            MessagePart::Reasoning { content } => format!("[reasoning] {content}"),
            MessagePart::ToolCall { name, arguments, .. } => {
                format!("[tool call] {name}({})", arguments.as_deref().unwrap_or(""))
            }
            MessagePart::ToolCallResponse { response, .. } => format!("[tool result] {response}"),
            MessagePart::Other { part_type, value } => format!("[{part_type}] {value}"),
        });
    }
    parts.join("\n")
}

/// Writes a label line and the text in a fence longer than any backtick run in it.
fn fenced(md: &mut String, label: &str, text: &str) -> std::fmt::Result {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    writeln!(md, "{}:\n", crate::text::one_line(label))?;
    writeln!(md, "{fence}text\n{text}\n{fence}\n")
}

/// Text for a table cell: one line, pipes escaped.
fn cell(text: &str) -> String {
    crate::text::one_line(text).replace('|', "\\|")
}

/// Text for inline code: no backticks, one line.
fn code(text: &str) -> String {
    crate::text::one_line(text).replace('`', "'")
}

fn human_seconds(s: f64) -> String {
    if s < 120.0 {
        format!("{s:.0} s")
    } else if s < 7_200.0 {
        format!("{:.1} min", s / 60.0)
    } else {
        format!("{:.1} h", s / 3_600.0)
    }
}

/// One sentence of the verdict: the onset and the cause, or that nothing shifted.
fn triage_line(t: &crate::triage::Triage) -> String {
    match (&t.onset, &t.layer, &t.dimension, &t.value) {
        (Some(onset), Some(layer), Some(dim), Some(value)) => format!(
            "Quality shifted at {onset}; cause: {layer} · {dim} `{}`{}, explaining {:.0}% of the excess failures.",
            value,
            t.previous.as_deref().map(|p| format!(" (was `{p}`)")).unwrap_or_default(),
            t.explains * 100.0
        ),
        (Some(onset), ..) => format!("Quality shifted at {onset}; no changed value explains it."),
        _ => "Quality did not shift beyond noise.".to_string(),
    }
}

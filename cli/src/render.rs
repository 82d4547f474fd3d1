//! Text rendering of API answers for the terminal: a request as a header and an indented
//! span tree, a session as its requests in order, a listing as a table, search results as
//! one block per request with its matches marked `»like this«`.
//!
//! Texts (prompts, outputs, arguments, documents) are printed whole, line by line; only
//! control characters are shown escaped, since a stored text must not drive the terminal.

use std::fmt::Write as _;
use std::io::{self, Write};

use crate::text::{clean, one_line, preview};
use tracehound_store::model::{Message, MessagePart, Score, ScoreTargetKind, SpanKind, StatusCode};

use tracehound_query::views::{
    LookupAnswer, RequestList, RequestStatus, RequestSummary, RequestView, SearchMatch, SearchResults, SessionView,
    SpanNode,
};

/// Indentation added per tree level and per detail level.
const STEP: usize = 2;
/// Characters of the question shown in a listing row.
const QUESTION_PREVIEW: usize = 60;
/// Opens a matched range in a search snippet; plain text, so it survives pipes and logs.
pub const MATCH_OPEN: &str = "»";
/// Closes a matched range in a search snippet.
pub const MATCH_CLOSE: &str = "«";

/// Renders whatever a lookup resolved to.
pub fn render_lookup(answer: &LookupAnswer, out: &mut dyn Write) -> io::Result<()> {
    match answer {
        LookupAnswer::Request { request, requests, .. } if requests.is_empty() => render_request(request, out),
        LookupAnswer::Request { requests, .. } => {
            writeln!(out, "{} requests share this identifier, oldest first.", requests.len())?;
            for (i, request) in requests.iter().enumerate() {
                writeln!(out)?;
                writeln!(out, "── {} of {}", i + 1, requests.len())?;
                render_request(request, out)?;
            }
            Ok(())
        }
        LookupAnswer::Session { session, .. } => render_session(session, out),
    }
}

/// Renders a session: a header, then each request with its tree, oldest first.
pub fn render_session(session: &SessionView, out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "session {}  user {}  requests {}  failing {}  first {}  last {}",
        clean(&session.session_id),
        opt(&session.user_id),
        session.request_count,
        session.failing,
        session.first_seen,
        session.last_seen
    )?;
    let t = &session.totals;
    writeln!(
        out,
        "  totals: tokens {} in / {} out  llm calls {}  tool calls {}  time {} (slowest {})  cost {}",
        t.input_tokens,
        t.output_tokens,
        t.llm_calls,
        t.tool_calls,
        format_ms(t.duration_ms),
        format_ms(t.max_duration_ms),
        usd(t.cost_usd)
    )?;
    for (i, request) in session.requests.iter().enumerate() {
        writeln!(out)?;
        writeln!(out, "── request {} of {}", i + 1, session.requests.len())?;
        render_request(request, out)?;
    }
    Ok(())
}

/// Renders one request: its header line, then its span tree.
pub fn render_request(request: &RequestView, out: &mut dyn Write) -> io::Result<()> {
    let s = &request.summary;
    writeln!(
        out,
        "request {}  trace {}  session {}  status {}  models {}  prompt {}  duration {}  tokens {} in / {} out  cost {}",
        clean(&request.request_id),
        request.trace_id,
        opt(&request.session_id),
        status_text(s.status),
        if s.models.is_empty() { "-".to_string() } else { clean(&s.models.join(", ")) },
        opt(&s.prompt_version),
        format_ms(s.duration_ms),
        s.input_tokens,
        s.output_tokens,
        usd(s.cost_usd)
    )?;
    writeln!(
        out,
        "started {}  service {}  user {}  spans {}",
        s.start_time,
        dash(&clean(&s.service)),
        opt(&request.user_id),
        s.span_count
    )?;
    let mut text = String::new();
    // The verdict first: a refusal or a truncation has `status ok`, and is still failing.
    for reason in &request.reasons {
        let span = reason.span_id.as_deref().map(|id| format!("  (span {id})")).unwrap_or_default();
        let _ = writeln!(text, "failing: {}: {}{span}", reason.kind, clean(&reason.detail));
    }
    for score in &request.scores {
        score_text(&mut text, score);
    }
    // Depth-first with an explicit stack: the tree's depth is bounded, but not by us.
    let mut stack: Vec<(&SpanNode, usize)> = request.spans.iter().rev().map(|n| (n, 0)).collect();
    while let Some((node, depth)) = stack.pop() {
        span_text(&mut text, node, depth * STEP);
        stack.extend(node.children.iter().rev().map(|c| (c, depth + 1)));
    }
    if !request.unattached_logs.is_empty() {
        let _ = writeln!(text, "({} log records name no stored span; see --json)", request.unattached_logs.len());
    }
    out.write_all(text.as_bytes())
}

/// One score line: name, value and label, who judged, what it judges; its explanation below.
fn score_text(out: &mut String, score: &Score) {
    let value = score.value.map(|v| format!(" {v}")).unwrap_or_default();
    let label = score.label.as_deref().map(|l| format!(" {}", clean(l))).unwrap_or_default();
    let target = match score.target_kind {
        ScoreTargetKind::Span => format!("span {}", clean(&score.target_id)),
        kind => kind.as_str().to_string(),
    };
    line(out, 0, &format!("score: {}{value}{label}  ({}, on the {target})", clean(&score.name), clean(&score.source)));
    if let Some(explanation) = &score.explanation {
        block(out, STEP, "why: ", explanation);
    }
}

/// Renders one listing page as a table, newest first.
pub fn render_request_table(list: &RequestList, out: &mut dyn Write) -> io::Result<()> {
    if list.requests.is_empty() {
        return writeln!(out, "no requests found");
    }
    let header = ["TIME (UTC)", "REQUEST", "STATUS", "MODEL", "PROMPT", "LATENCY", "TOKENS", "QUESTION"];
    let rows: Vec<[String; 8]> = list.requests.iter().map(table_row).collect();
    let mut widths = header.map(|h| h.chars().count());
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let header = header.map(str::to_string);
    for row in std::iter::once(&header).chain(&rows) {
        let mut line = String::new();
        for (i, (cell, width)) in row.iter().zip(widths).enumerate() {
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                let _ = write!(line, "{cell:<width$}  ");
            }
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    if let Some(cursor) = &list.next_cursor {
        writeln!(out, "(more requests: --cursor {})", clean(cursor))?;
    }
    Ok(())
}

/// Renders a page of search results: per request a header line and its marked matches.
pub fn render_search_results(page: &SearchResults, out: &mut dyn Write) -> io::Result<()> {
    if page.results.is_empty() {
        let committed = match &page.index_committed_at {
            Some(at) => format!(" (index as of {}; newer requests may not be searchable yet)", short_time(at)),
            None => String::new(),
        };
        return writeln!(out, "no requests match{committed}");
    }
    for result in &page.results {
        let s = &result.request;
        let mut header = format!(
            "{}  {}  {}  {}",
            short_time(&s.start_time),
            clean(&s.request_id),
            status_text(s.status),
            models_text(&s.models)
        );
        if let Some(version) = &s.prompt_version {
            let _ = write!(header, "  prompt {}", clean(version));
        }
        if result.score > 0.0 {
            // BM25 relevance, not an eval score: the word says which.
            let _ = write!(header, "  relevance {:.2}", result.score);
        }
        writeln!(out, "{header}")?;
        for m in &result.matches {
            writeln!(out, "  [{}/{}] {}", clean(&m.span_kind), clean(&m.field), marked_snippet(m))?;
        }
        writeln!(out)?;
    }
    let shown = page.results.len();
    match &page.next_cursor {
        Some(cursor) => writeln!(out, "{shown} of {} requests; more with --cursor {}", page.total, clean(cursor)),
        None => writeln!(out, "{shown} of {} requests", page.total),
    }
}

/// The snippet on one line with its matched ranges between [`MATCH_OPEN`] and [`MATCH_CLOSE`].
///
/// Ranges are byte offsets from the server: ones that overlap are merged, and ones that do
/// not fall on character boundaries are ignored rather than trusted.
pub fn marked_snippet(m: &SearchMatch) -> String {
    let text = &m.snippet;
    let mut ranges: Vec<(usize, usize)> =
        m.highlights.iter().copied().filter(|&(a, b)| a < b && text.get(a..b).is_some()).collect();
    ranges.sort_unstable();
    let mut merged: Vec<(usize, usize)> = Vec::with_capacity(ranges.len());
    for (a, b) in ranges {
        match merged.last_mut() {
            Some(last) if a <= last.1 => last.1 = last.1.max(b),
            _ => merged.push((a, b)),
        }
    }
    let mut line = String::with_capacity(text.len() + 8 * merged.len());
    let mut at = 0;
    for (a, b) in merged {
        line.push_str(&one_line(&text[at..a]));
        line.push_str(MATCH_OPEN);
        line.push_str(&one_line(&text[a..b]));
        line.push_str(MATCH_CLOSE);
        at = b;
    }
    line.push_str(&one_line(&text[at..]));
    line
}

/// `2023-11-14 22:13:20` of an RFC 3339 time.
fn short_time(rfc3339: &str) -> String {
    rfc3339.get(..19).unwrap_or(rfc3339).replacen('T', " ", 1)
}

/// The first model, and how many others.
fn models_text(models: &[String]) -> String {
    match models {
        [] => "-".to_string(),
        [one] => clean(one),
        [first, rest @ ..] => format!("{} +{}", clean(first), rest.len()),
    }
}

fn table_row(s: &RequestSummary) -> [String; 8] {
    let time = short_time(&s.start_time);
    let model = models_text(&s.models);
    let question = s.question.as_deref().map(|q| preview(q, QUESTION_PREVIEW)).unwrap_or_default();
    [
        time,
        clean(&s.request_id),
        status_text(s.status).to_string(),
        model,
        opt(&s.prompt_version),
        format_ms(s.duration_ms),
        format!("{}/{}", s.input_tokens, s.output_tokens),
        question,
    ]
}

fn span_text(out: &mut String, node: &SpanNode, indent: usize) {
    let span = &node.span;
    let pad = " ".repeat(indent);
    let failed = if span.status == StatusCode::Error { "  ERROR" } else { "" };
    let _ =
        writeln!(out, "{pad}[{}] {}  {}{failed}", span.kind.as_str(), clean(&span.name), format_ms(node.duration_ms));
    let at = indent + STEP;
    if span.status == StatusCode::Error && !span.status_message.is_empty() {
        block(out, at, "status: error: ", &span.status_message);
    }
    if let Some(error) = &span.error {
        let kind = error.error_type.as_deref().unwrap_or("error");
        block(out, at, &format!("error: {}: ", clean(kind)), error.message.as_deref().unwrap_or(""));
        if let Some(stack) = &error.stacktrace {
            block(out, at, "stacktrace: ", stack);
        }
    }
    let mut shows_messages = false;
    if let Some(llm) = &span.llm {
        let model = match (&llm.request_model, &llm.response_model) {
            (Some(asked), Some(served)) if asked != served => Some(format!("{} → {}", clean(asked), clean(served))),
            (Some(model), _) | (None, Some(model)) => Some(clean(model)),
            (None, None) => None,
        };
        if let Some(model) = model {
            let provider = llm.provider.as_deref().map(|p| format!(" ({})", clean(p))).unwrap_or_default();
            line(out, at, &format!("model: {model}{provider}"));
        }
        if let Some(system) = &llm.system_instructions {
            block(out, at, "system instructions: ", system);
        }
        if !llm.input_messages.is_empty() {
            line(out, at, "input:");
            messages(out, at + STEP, &llm.input_messages);
        }
        for text in &llm.embedding_inputs {
            block(out, at, "embedding input: ", text);
        }
        if !llm.output_messages.is_empty() {
            line(out, at, "output:");
            messages(out, at + STEP, &llm.output_messages);
        }
        shows_messages = !llm.input_messages.is_empty() || !llm.output_messages.is_empty();
        if !llm.finish_reasons.is_empty() {
            line(out, at, &format!("finish: {}", clean(&llm.finish_reasons.join(", "))));
        }
        let usage = &llm.usage;
        if usage.input.is_some() || usage.output.is_some() {
            let mut tokens = format!("tokens: {} in / {} out", num(usage.input), num(usage.output));
            for (name, value) in
                [("cache read", usage.cache_read), ("cache write", usage.cache_write), ("reasoning", usage.reasoning)]
            {
                if let Some(value) = value {
                    let _ = write!(tokens, ", {name} {value}");
                }
            }
            line(out, at, &tokens);
        }
    }
    if let Some(tool) = &span.tool {
        let name = tool.name.as_deref().map(clean).unwrap_or_else(|| "-".into());
        let id = tool.call_id.as_deref().map(|id| format!(" [{}]", clean(id))).unwrap_or_default();
        line(out, at, &format!("tool: {name}{id}"));
        if let Some(arguments) = &tool.arguments {
            block(out, at, "arguments: ", arguments);
        }
        if let Some(result) = &tool.result {
            block(out, at, "result: ", result);
        }
    }
    // An unset or ok status says nothing on a tool span; only a failure is news.
    if span.kind == SpanKind::Tool && span.status == StatusCode::Error {
        line(out, at, "status: error");
    }
    if let Some(retrieval) = &span.retrieval {
        if let Some(query) = &retrieval.query {
            block(out, at, "query: ", query);
        }
        if let Some(source) = &retrieval.data_source {
            line(out, at, &format!("source: {}", clean(source)));
        }
        for (rank, doc) in retrieval.documents.iter().enumerate() {
            let id = doc.id.as_deref().map(clean).unwrap_or_else(|| "-".into());
            let score = doc.score.map(|s| format!("  score {s}")).unwrap_or_default();
            line(out, at, &format!("document #{} {id}{score}", rank + 1));
            if let Some(content) = &doc.content {
                block(out, at + STEP, "", content);
            }
        }
    }
    // Raw input/output repeat the messages on most LLM spans; show them where they are all there is.
    // A tool span's input and output are most often its arguments and result again.
    let tool = span.tool.as_ref();
    if !shows_messages {
        if let Some(input) = span.input_value.as_ref().filter(|v| tool.and_then(|t| t.arguments.as_ref()) != Some(*v)) {
            block(out, at, "input: ", input);
        }
        if let Some(output) = span.output_value.as_ref().filter(|v| tool.and_then(|t| t.result.as_ref()) != Some(*v)) {
            block(out, at, "output: ", output);
        }
    }
    // Says the evidence is not verbatim here, so nobody mistakes a marker for what was sent.
    if !span.redactions.is_empty() {
        let counts: Vec<String> = span.redactions.iter().map(|(rule, n)| format!("{n} {}", clean(rule))).collect();
        line(out, at, &format!("redacted at ingest: {}", counts.join(", ")));
    }
}

fn messages(out: &mut String, indent: usize, list: &[Message]) {
    for message in list {
        let role = clean(&message.role);
        if message.parts.is_empty() {
            line(out, indent, &format!("{role}: (empty)"));
        }
        for (i, part) in message.parts.iter().enumerate() {
            // Later parts of one message continue under it rather than repeating the role.
            let label = if i == 0 { format!("{role}: ") } else { String::new() };
            let at = if i == 0 { indent } else { indent + STEP };
            match part {
                MessagePart::Text { content } => block(out, at, &label, content),
                MessagePart::Reasoning { content } => block(out, at, &format!("{label}(reasoning) "), content),
                MessagePart::ToolCall { id, name, arguments } => {
                    let id = id.as_deref().map(|id| format!(" [{}]", clean(id))).unwrap_or_default();
                    let head = format!("{label}tool call {}{id} ", clean(name));
                    block(out, at, &head, arguments.as_deref().unwrap_or(""));
                }
                MessagePart::ToolCallResponse { id, response } => {
                    let id = id.as_deref().map(|id| format!(" [{}]", clean(id))).unwrap_or_default();
                    block(out, at, &format!("{label}tool result{id}: "), response);
                }
                MessagePart::Other { part_type, value } => {
                    block(out, at, &format!("{label}({}) ", clean(part_type)), &value.to_string());
                }
            }
        }
        if let Some(reason) = &message.finish_reason {
            line(out, indent + STEP, &format!("(finish: {})", clean(reason)));
        }
    }
}

/// `label` and the text's first line at `indent`; further lines `STEP` deeper, exact.
fn block(out: &mut String, indent: usize, label: &str, text: &str) {
    let mut lines = text.split('\n');
    let first = lines.next().unwrap_or("");
    let _ = writeln!(out, "{}{label}{}", " ".repeat(indent), clean(first));
    for next in lines {
        if next.is_empty() {
            out.push('\n');
        } else {
            let _ = writeln!(out, "{}{}", " ".repeat(indent + STEP), clean(next));
        }
    }
}

fn line(out: &mut String, indent: usize, text: &str) {
    let _ = writeln!(out, "{}{text}", " ".repeat(indent));
}

fn opt(value: &Option<String>) -> String {
    value.as_deref().map(clean).unwrap_or_else(|| "-".into())
}

fn dash(value: &str) -> &str {
    if value.is_empty() {
        "-"
    } else {
        value
    }
}

fn num(value: Option<i64>) -> String {
    value.map_or_else(|| "?".into(), |v| v.to_string())
}

fn status_text(status: RequestStatus) -> &'static str {
    match status {
        RequestStatus::Ok => "ok",
        RequestStatus::Error => "error",
    }
}

/// `0.4ms`, `850ms`, `1.25s`, `2m03s`.
/// A cost in dollars, `?` when a model has no price.
fn usd(cost: Option<f64>) -> String {
    match cost {
        Some(c) if c < 0.01 => format!("${c:.5}"),
        Some(c) => format!("${c:.4}"),
        None => "? (a model has no price)".to_string(),
    }
}

fn format_ms(ms: f64) -> String {
    if ms < 10.0 {
        format!("{ms:.1}ms")
    } else if ms < 1_000.0 {
        format!("{ms:.0}ms")
    } else if ms < 60_000.0 {
        format!("{:.2}s", ms / 1_000.0)
    } else {
        let seconds = (ms / 1_000.0).round() as u64;
        format!("{}m{:02}s", seconds / 60, seconds % 60)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// A request as the API answers it: a chain root with an LLM call, a tool and a retrieval.
    fn request_json() -> serde_json::Value {
        let span = |id: &str, parent: Option<&str>, kind: &str, name: &str, start_ms: u64| {
            json!({
                "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "span_id": id, "parent_span_id": parent,
                "name": name, "kind": kind, "status": "ok", "service": "support-bot",
                "start_unix_nano": 1_700_000_000_000_000_000u64 + start_ms * 1_000_000,
                "end_unix_nano": 1_700_000_000_000_000_000u64 + (start_ms + 250) * 1_000_000,
                "duration_ms": 250.0, "attributes": {}, "resource": {}, "logs": [], "children": []
            })
        };
        let mut llm = span("00000000000000b2", Some("00000000000000a1"), "llm", "chat gpt-4o", 10);
        llm["llm"] = json!({
            "request_model": "gpt-4o", "response_model": "gpt-4o-2024-08-06",
            "input_messages": [
                {"role": "system", "parts": [{"type": "text", "content": "You are terse.\n\nNever guess."}]},
                {"role": "user", "parts": [{"type": "text", "content": "Weather in Paris?"}]}
            ],
            "output_messages": [{"role": "assistant", "parts": [
                {"type": "tool_call", "id": "call_1", "name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}
            ]}],
            "usage": {"input": 31, "output": 12}, "finish_reasons": ["tool_calls"]
        });
        let mut tool = span("00000000000000c3", Some("00000000000000a1"), "tool", "execute_tool get_weather", 300);
        tool["status"] = json!("error");
        tool["tool"] = json!({"name": "get_weather", "arguments": "{\"city\":\"Paris\"}", "result": "timeout"});
        tool["error"] = json!({"error_type": "TimeoutError", "message": "upstream took 30s"});
        let mut search = span("00000000000000d4", Some("00000000000000a1"), "retrieval", "search", 600);
        search["retrieval"] = json!({"query": "paris weather", "documents": [
            {"id": "doc-9", "score": 0.82, "content": "Paris: mild.\nRain later."}
        ]});
        let mut root = span("00000000000000a1", None, "chain", "answer", 0);
        root["children"] = json!([llm, tool, search]);
        json!({
            "request_id": "req-42", "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
            "session_id": "conv-7", "user_id": null, "versions": {"prompt_version": ["v3"]},
            "summary": {
                "request_id": "req-42", "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "session_id": "conv-7",
                "user_id": null, "service": "support-bot", "root_name": "answer",
                "start_time": "2023-11-14T22:13:20.000000000Z", "duration_ms": 1234.5, "status": "error",
                "span_count": 4, "llm_calls": 1, "tool_calls": 1, "models": ["gpt-4o-2024-08-06"],
                "prompt_version": "v3", "input_tokens": 31, "output_tokens": 12, "finish_reasons": ["tool_calls"],
                "question": "Weather in Paris?", "answer": null, "cost_usd": 0.000197
            },
            "spans": [root]
        })
    }

    fn rendered() -> String {
        let view: RequestView = serde_json::from_value(request_json()).expect("a RequestView");
        let mut out = Vec::new();
        render_request(&view, &mut out).expect("render");
        String::from_utf8(out).expect("utf-8")
    }

    #[test]
    fn the_header_line_names_the_request_and_its_outcome() {
        let first = rendered().lines().next().unwrap_or_default().to_string();
        assert_eq!(
            first,
            "request req-42  trace 4bf92f3577b34da6a3ce929d0e0e4736  session conv-7  status error  \
             models gpt-4o-2024-08-06  prompt v3  duration 1.23s  tokens 31 in / 12 out  cost $0.00020"
        );
    }

    #[test]
    fn an_llm_call_shows_its_exact_multi_line_prompt_and_what_it_asked_for() {
        let expected = "  [llm] chat gpt-4o  250ms
    model: gpt-4o → gpt-4o-2024-08-06
    input:
      system: You are terse.

        Never guess.
      user: Weather in Paris?
    output:
      assistant: tool call get_weather [call_1] {\"city\":\"Paris\"}
    finish: tool_calls
    tokens: 31 in / 12 out
";
        assert!(rendered().contains(expected), "got:\n{}", rendered());
    }

    #[test]
    fn a_span_with_redactions_says_how_many_of_each_rule() {
        let mut json = request_json();
        json["spans"][0]["children"][0]["redactions"] = json!({"card": 1, "email": 2});
        let view: RequestView = serde_json::from_value(json).expect("a RequestView");
        let mut out = Vec::new();
        render_request(&view, &mut out).expect("render");
        let text = String::from_utf8(out).expect("utf-8");
        assert!(text.contains("    tokens: 31 in / 12 out\n    redacted at ingest: 1 card, 2 email\n"), "got:\n{text}");
    }

    #[test]
    fn a_tool_call_shows_name_arguments_result_and_error() {
        let expected = "  [tool] execute_tool get_weather  250ms  ERROR
    error: TimeoutError: upstream took 30s
    tool: get_weather
    arguments: {\"city\":\"Paris\"}
    result: timeout
    status: error
";
        assert!(rendered().contains(expected), "got:\n{}", rendered());
    }

    fn rendered_with(edit: impl FnOnce(&mut serde_json::Value)) -> String {
        let mut json = request_json();
        edit(&mut json);
        let view: RequestView = serde_json::from_value(json).expect("a RequestView");
        let mut out = Vec::new();
        render_request(&view, &mut out).expect("render");
        String::from_utf8(out).expect("utf-8")
    }

    #[test]
    fn a_failing_request_names_each_reason_before_its_spans() {
        let text = rendered_with(|json| {
            json["reasons"] = json!([{"kind": "refusal", "detail": "final answer refuses: \"I can't help\"", "span_id": "00000000000000b2"}]);
        });
        let third = text.lines().nth(2).unwrap_or_default();
        assert_eq!(third, "failing: refusal: final answer refuses: \"I can't help\"  (span 00000000000000b2)");
    }

    #[test]
    fn a_request_lists_its_scores_with_label_source_target_and_explanation() {
        let text = rendered_with(|json| {
            json["scores"] = json!([{
                "target_kind": "span", "target_id": "00000000000000b2", "name": "faithfulness", "value": 0.2,
                "label": "fail", "explanation": "cites no document", "source": "llm-judge", "time_unix_nano": 1
            }]);
        });
        assert!(
            text.contains(
                "score: faithfulness 0.2 fail  (llm-judge, on the span 00000000000000b2)\n  why: cites no document\n"
            ),
            "got:\n{text}"
        );
    }

    #[test]
    fn a_tool_span_prints_its_input_and_output_only_where_they_differ_from_arguments_and_result() {
        let text = rendered_with(|json| {
            let tool = &mut json["spans"][0]["children"][1];
            tool["input_value"] = json!("{\"city\":\"Paris\"}");
            tool["output_value"] = json!("timeout after retries");
        });
        assert!(!text.contains("input: {\"city\""), "the arguments are printed twice:\n{text}");
        assert!(text.contains("    output: timeout after retries\n"), "got:\n{text}");
    }

    #[test]
    fn a_tool_span_that_did_not_fail_prints_no_status() {
        let text = rendered_with(|json| {
            let tool = &mut json["spans"][0]["children"][1];
            tool["status"] = json!("unset");
            tool["error"] = serde_json::Value::Null;
        });
        assert!(!text.contains("status: unset") && !text.contains("status: ok"), "got:\n{text}");
    }

    #[test]
    fn a_retrieval_shows_its_query_and_each_document() {
        let expected = "  [retrieval] search  250ms
    query: paris weather
    document #1 doc-9  score 0.82
      Paris: mild.
        Rain later.
";
        assert!(rendered().contains(expected), "got:\n{}", rendered());
    }

    #[test]
    fn children_are_indented_under_their_parent() {
        let tags: Vec<String> =
            rendered().lines().filter(|l| l.trim_start().starts_with('[')).map(String::from).collect();
        assert_eq!(
            tags,
            [
                "[chain] answer  250ms",
                "  [llm] chat gpt-4o  250ms",
                "  [tool] execute_tool get_weather  250ms  ERROR",
                "  [retrieval] search  250ms"
            ]
        );
    }

    #[test]
    fn a_listing_row_shows_time_id_status_model_prompt_latency_tokens_and_question() {
        let view: RequestView = serde_json::from_value(request_json()).expect("a RequestView");
        let list = RequestList { requests: vec![view.summary], next_cursor: None };
        let mut out = Vec::new();
        render_request_table(&list, &mut out).expect("render");
        let text = String::from_utf8(out).expect("utf-8");
        let row = text.lines().nth(1).unwrap_or_default().split_whitespace().collect::<Vec<_>>().join(" ");
        assert_eq!(row, "2023-11-14 22:13:20 req-42 error gpt-4o-2024-08-06 v3 1.23s 31/12 Weather in Paris?");
    }

    fn search_match(kind: &str, field: &str, snippet: &str, highlights: &[(usize, usize)]) -> SearchMatch {
        SearchMatch {
            span_id: "00000000000000b2".into(),
            span_kind: kind.into(),
            span_name: "chat".into(),
            field: field.into(),
            snippet: snippet.into(),
            highlights: highlights.to_vec(),
        }
    }

    fn rendered_search(page: &SearchResults) -> String {
        let mut out = Vec::new();
        render_search_results(page, &mut out).expect("render");
        String::from_utf8(out).expect("utf-8")
    }

    #[test]
    fn a_search_result_shows_the_request_then_each_match_marked() {
        let view: RequestView = serde_json::from_value(request_json()).expect("a RequestView");
        let page = SearchResults {
            results: vec![tracehound_query::views::SearchResult {
                request: view.summary,
                score: 4.2069,
                matches: vec![
                    search_match("llm", "input", "what is the refund policy?", &[(12, 18)]),
                    search_match("tool", "tool_result", "refund: 30 days", &[(0, 6)]),
                ],
            }],
            total: 7,
            next_cursor: Some("c2".into()),
            index_committed_at: None,
            query: tracehound_query::views::SearchQueryInfo { clauses: 1 },
        };
        assert_eq!(
            rendered_search(&page),
            "2023-11-14 22:13:20  req-42  error  gpt-4o-2024-08-06  prompt v3  relevance 4.21
  [llm/input] what is the »refund« policy?
  [tool/tool_result] »refund«: 30 days

1 of 7 requests; more with --cursor c2
"
        );
    }

    #[test]
    fn an_empty_search_says_so_and_how_current_the_index_is() {
        let page = SearchResults {
            results: vec![],
            total: 0,
            next_cursor: None,
            index_committed_at: Some("2023-11-14T22:13:20.000000000Z".into()),
            query: tracehound_query::views::SearchQueryInfo { clauses: 1 },
        };
        assert_eq!(
            rendered_search(&page),
            "no requests match (index as of 2023-11-14 22:13:20; newer requests may not be searchable yet)\n"
        );
    }

    #[test]
    fn a_snippet_is_shown_on_one_line() {
        assert_eq!(
            marked_snippet(&search_match("llm", "output", "first\nsecond\tthird", &[(6, 12)])),
            "first »second« third"
        );
    }

    #[test]
    fn overlapping_matches_are_marked_once() {
        assert_eq!(
            marked_snippet(&search_match("llm", "output", "refund policy", &[(7, 13), (0, 6), (3, 8)])),
            "»refund policy«"
        );
    }

    #[test]
    fn a_match_range_off_a_character_boundary_is_ignored() {
        // "é" is two bytes: 1..2 splits it, 0..2 is the whole character.
        assert_eq!(marked_snippet(&search_match("llm", "output", "été", &[(1, 2), (0, 2), (4, 99)])), "»é«té");
    }

    #[test]
    fn durations_read_naturally_at_every_scale() {
        assert_eq!(
            [format_ms(0.42), format_ms(850.0), format_ms(1_250.0), format_ms(123_000.0)],
            ["0.4ms", "850ms", "1.25s", "2m03s"]
        );
    }
}

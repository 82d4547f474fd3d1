//! Specification tests over the real captured fixtures (`shared/fixtures`): for every
//! instrumentation, transport and request in each manifest, the evidence a person would look
//! for must be where the normalized model says it is.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use prost::Message as _;
use serde_json::Value as Json;
use tracehound_proto::collector::logs::v1::ExportLogsServiceRequest;
use tracehound_proto::collector::trace::v1::ExportTraceServiceRequest;
use tracehound_store::model::{LlmCall, LogRecord, Message, Span, SpanKind, VersionDimension};

use super::{normalize_logs, normalize_traces, NormalizeConfig};

/// One fixture directory, normalized.
struct Fixture {
    name: String,
    manifest: Json,
    spans: Vec<Span>,
    logs: Vec<LogRecord>,
    rejected: u64,
}

impl Fixture {
    /// Manifest requests by request id.
    fn requests(&self) -> Vec<(&str, &Json)> {
        self.manifest["requests"]
            .as_object()
            .map(|requests| requests.iter().map(|(id, r)| (id.as_str(), r)).collect())
            .unwrap_or_default()
    }

    fn has_content(&self) -> bool {
        !self.name.starts_with("otel-genai-nocontent")
    }

    fn trace_spans<'f>(&'f self, request: &Json) -> impl Iterator<Item = &'f Span> + 'f {
        let trace_id = field(request, "trace_id").to_string();
        self.spans.iter().filter(move |span| hex::encode(span.trace_id) == trace_id)
    }

    fn span(&self, span_id: &str) -> Option<&Span> {
        self.spans.iter().find(|span| hex::encode(span.span_id) == span_id)
    }
}

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures")
}

fn corpus() -> &'static [Fixture] {
    static CORPUS: OnceLock<Vec<Fixture>> = OnceLock::new();
    CORPUS.get_or_init(load_all)
}

fn load_all() -> Vec<Fixture> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(fixtures_dir())
        .expect("shared/fixtures must exist beside the workspace")
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.join("manifest.json").is_file())
        .collect();
    dirs.sort();
    dirs.iter().map(|dir| load(dir)).collect()
}

fn load(dir: &Path) -> Fixture {
    let manifest: Json = serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).expect("manifest readable"))
        .expect("manifest is JSON");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join("requests"))
        .expect("requests folder")
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .collect();
    files.sort();
    let cfg = NormalizeConfig::default();
    let mut fixture = Fixture {
        name: dir.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default(),
        manifest,
        spans: Vec::new(),
        logs: Vec::new(),
        rejected: 0,
    };
    for file in files {
        let name = file.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
        let bytes = || std::fs::read(&file).expect("request readable");
        if name.ends_with("-traces.pb") {
            let request = ExportTraceServiceRequest::decode(bytes().as_slice()).expect("traces decode");
            let out = normalize_traces(&request, &cfg);
            fixture.rejected += out.rejected;
            fixture.spans.extend(out.items);
        } else if name.ends_with("-logs.pb") {
            let request = ExportLogsServiceRequest::decode(bytes().as_slice()).expect("logs decode");
            let out = normalize_logs(&request, &cfg);
            fixture.rejected += out.rejected;
            fixture.logs.extend(out.items);
        }
    }
    fixture
}

fn field<'j>(value: &'j Json, key: &str) -> &'j str {
    value[key].as_str().unwrap_or_default()
}

fn texts(messages: &[Message]) -> String {
    messages.iter().map(Message::text).collect::<Vec<_>>().join("\n")
}

fn answers(call: &LlmCall, question: &str, answer: &str) -> bool {
    texts(&call.input_messages).contains(question) && texts(&call.output_messages).contains(answer)
}

/// Runs `check` on every request of every fixture and fails with all problems at once.
fn for_every_request(check: impl Fn(&Fixture, &str, &Json) -> Option<String>) {
    let fixtures = corpus();
    assert!(fixtures.len() >= 16, "expected the 16 fixture directories, found {}", fixtures.len());
    let mut problems = Vec::new();
    for fixture in fixtures {
        let requests = fixture.requests();
        assert!(!requests.is_empty(), "{}: manifest lists no requests", fixture.name);
        for (request_id, request) in requests {
            if let Some(problem) = check(fixture, request_id, request) {
                problems.push(format!("{} {request_id}: {problem}", fixture.name));
            }
        }
    }
    assert!(problems.is_empty(), "{} problem(s):\n{}", problems.len(), problems.join("\n"));
}

#[test]
fn every_fixture_normalizes_without_rejections_and_keeps_every_span() {
    for fixture in corpus() {
        assert_eq!(fixture.rejected, 0, "{}", fixture.name);
        let expected = fixture.manifest["span_count"].as_u64().unwrap_or_default();
        assert_eq!(fixture.spans.len() as u64, expected, "{}", fixture.name);
        let expected_logs = fixture.manifest["log_record_count"].as_u64().unwrap_or_default();
        assert_eq!(fixture.logs.len() as u64, expected_logs, "{}", fixture.name);
    }
}

#[test]
fn every_root_span_yields_its_request_and_session_ids() {
    for_every_request(|fixture, request_id, request| {
        let Some(root) = fixture.span(field(request, "root_span_id")) else { return Some("root span missing".into()) };
        let found = (root.request_id.as_deref(), root.session_id.as_deref());
        (found != (Some(request_id), Some(field(request, "session_id")))).then(|| format!("root ids {found:?}"))
    });
}

#[test]
fn every_question_and_final_answer_are_in_one_llm_span() {
    for_every_request(|fixture, _, request| {
        if !fixture.has_content() {
            return None;
        }
        let (question, answer) = (field(request, "question"), field(request, "final_answer"));
        let found = fixture
            .trace_spans(request)
            .filter(|span| span.kind == SpanKind::Llm)
            .filter_map(|span| span.llm.as_ref())
            .any(|call| answers(call, question, answer));
        (!found).then(|| "no llm span with both the question and the final answer".into())
    });
}

#[test]
fn every_response_model_is_found() {
    for_every_request(|fixture, _, request| {
        let model = field(request, "response_model");
        let found = fixture
            .trace_spans(request)
            .filter_map(|span| span.llm.as_ref())
            .any(|call| call.response_model.as_deref() == Some(model));
        (!found).then(|| format!("response model {model} not found"))
    });
}

#[test]
fn every_tool_span_names_its_tool_call_arguments_and_result() {
    for_every_request(|fixture, _, request| {
        let calls = request["tool_calls"].as_array().cloned().unwrap_or_default();
        for expected in &calls {
            let Some(span) = fixture.span(field(expected, "span_id")) else { return Some("tool span missing".into()) };
            let tool = span.tool.clone().unwrap_or_default();
            if span.kind != SpanKind::Tool
                || tool.name.as_deref() != Some(field(expected, "tool_name"))
                || tool.call_id.as_deref() != Some(field(expected, "tool_call_id"))
            {
                return Some(format!("tool span {:?} {tool:?}", span.kind));
            }
            let failed = expected.get("error").is_some();
            if fixture.has_content() && (tool.arguments.is_none() || (tool.result.is_none() && !failed)) {
                return Some(format!("tool content missing: {tool:?}"));
            }
        }
        None
    });
}

#[test]
fn every_prompt_version_appears_in_some_span_versions() {
    for_every_request(|fixture, _, request| {
        let version = field(request, "prompt_version");
        let found = fixture
            .trace_spans(request)
            .any(|span| span.versions.get(&VersionDimension::PromptVersion).map(String::as_str) == Some(version));
        (!found).then(|| format!("prompt version {version} not found"))
    });
}

#[test]
fn tool_errors_carry_a_lookup_error() {
    for_every_request(|fixture, _, request| {
        if field(request, "expected_outcome") != "tool_error" {
            return None;
        }
        let calls = request["tool_calls"].as_array().cloned().unwrap_or_default();
        let failing = calls.iter().filter_map(|call| fixture.span(field(call, "span_id")));
        let errors: Vec<Option<&str>> =
            failing.map(|span| span.error.as_ref().and_then(|error| error.error_type.as_deref())).collect();
        (errors.is_empty() || errors.iter().any(|error| *error != Some("LookupError")))
            .then(|| format!("errors {errors:?}"))
    });
}

#[test]
fn truncated_requests_finish_with_length() {
    for_every_request(|fixture, _, request| {
        if field(request, "expected_outcome") != "truncated" {
            return None;
        }
        let found = fixture
            .trace_spans(request)
            .filter_map(|span| span.llm.as_ref())
            .any(|call| call.finish_reasons.iter().any(|reason| reason == "length"));
        (!found).then(|| "no finish reason `length`".into())
    });
}

#[test]
fn otel_genai_content_is_recoverable_from_log_records() {
    for_every_request(|fixture, _, request| {
        if !fixture.name.starts_with("otel-genai-") || !fixture.has_content() {
            return None;
        }
        let trace_id = field(request, "trace_id");
        let (question, answer) = (field(request, "question"), field(request, "final_answer"));
        let found = fixture
            .logs
            .iter()
            .filter(|log| hex::encode(log.trace_id) == trace_id)
            .filter_map(|log| log.llm.as_ref())
            .any(|call| answers(call, question, answer));
        (!found).then(|| "no log record with both the question and the final answer".into())
    });
}

#[test]
fn spans_of_each_kind_are_recognized_in_every_fixture() {
    for fixture in corpus() {
        let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
        for span in &fixture.spans {
            *kinds.entry(span.kind.as_str()).or_default() += 1;
        }
        for kind in ["llm", "embedding", "retrieval", "tool"] {
            assert!(kinds.contains_key(kind), "{}: no {kind} span in {kinds:?}", fixture.name);
        }
        assert_eq!(kinds.get("other"), None, "{}: unclassified spans in {kinds:?}", fixture.name);
    }
}

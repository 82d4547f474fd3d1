//! Online evaluation end to end, against a fake OpenAI-compatible judge the test starts on
//! loopback (a real HTTP/1.1 server answering `POST /v1/chat/completions`): the configured
//! share is sampled and the judge sees each request's exact question, answer and documents;
//! its scores attach to their requests and `failing` finds what it failed; a crash mid-queue
//! still judges every sampled request exactly once; a judge answering 500, too slowly or
//! with garbage is retried and reported; the budget stops judging.

mod common;

use std::collections::{BTreeSet, HashMap};
use std::io::Write;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::otlp::{export, post_protobuf, text};
use common::Server;
use prost::Message;
use serde_json::{json, Value};
use tracehound_proto::trace::v1::Span;

/// What the fake judge does with one call.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Act {
    /// A verdict: this score, `fail` below 0.5.
    Verdict(f64),
    /// 500 Internal Server Error.
    Error,
    /// No answer for this long (past the server's timeout).
    Stall(Duration),
    /// 200 with prose instead of the JSON verdict.
    Garbage,
}

type Script = dyn Fn(&str, usize) -> Act + Send + Sync;

/// A fake judge: every call's prompt is recorded; `script(prompt, nth call with this
/// prompt)` decides the answer. Each connection has its own thread, so a stalled call does
/// not hold the others.
struct Judge {
    port: u16,
    prompts: Arc<Mutex<Vec<String>>>,
}

impl Judge {
    fn start(script: Arc<Script>) -> Judge {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let prompts: Arc<Mutex<Vec<String>>> = Arc::default();
        let log = prompts.clone();
        // The threads end with the test process; they hold no child process.
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let (log, script) = (log.clone(), script.clone());
                std::thread::spawn(move || serve_one(stream, &log, &*script));
            }
        });
        Judge { port, prompts }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/v1", self.port)
    }

    fn prompts(&self) -> Vec<String> {
        self.prompts.lock().unwrap().clone()
    }
}

fn serve_one(mut stream: std::net::TcpStream, log: &Mutex<Vec<String>>, script: &Script) {
    let Some((request_line, body)) = common::http::read_request(&stream) else { return };
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    assert!(request_line.starts_with("POST /v1/chat/completions "), "{request_line}");
    assert_eq!(request["response_format"]["type"], "json_object", "{request}");
    let prompt = request["messages"][1]["content"].as_str().unwrap_or_default().to_string();
    let nth = {
        let mut log = log.lock().unwrap();
        log.push(prompt.clone());
        log.iter().filter(|p| **p == prompt).count()
    };
    let (status, body) = match script(&prompt, nth) {
        Act::Verdict(score) => {
            let label = if score < 0.5 { "fail" } else { "pass" };
            let verdict = json!({"score": score, "label": label, "explanation": "judged by the fake"}).to_string();
            let completion = json!({
                "id": "chatcmpl-fake",
                "object": "chat.completion",
                "model": "judge-1",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": verdict}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 60, "completion_tokens": 10, "total_tokens": 70},
            });
            (200, completion.to_string())
        }
        Act::Error => (500, r#"{"error": {"message": "overloaded"}}"#.to_string()),
        Act::Stall(time) => {
            std::thread::sleep(time);
            return;
        }
        Act::Garbage => {
            let completion = json!({
                "model": "judge-1",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": "Looks good to me!"}}],
                "usage": {"prompt_tokens": 60, "completion_tokens": 5},
            });
            (200, completion.to_string())
        }
    };
    let reason = if status == 200 { "OK" } else { "Internal Server Error" };
    let _ = write!(
        stream,
        "HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
}

fn now_nanos() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64
}

/// A trace id whose sampling point (its last eight bytes as a fraction) is `point`.
fn trace_id(n: u32, point: f64) -> [u8; 16] {
    let mut id = [0u8; 16];
    id[..4].copy_from_slice(&n.to_be_bytes());
    id[4..8].copy_from_slice(&0x7e57_0000u32.to_be_bytes());
    let low = (point * 18_446_744_073_709_551_616.0) as u64;
    id[8..].copy_from_slice(&low.to_be_bytes());
    id
}

/// One request as OpenInference sends it: a chain root with the question and the answer,
/// and a retriever child that returned one document.
struct Request {
    id: [u8; 16],
    question: String,
    answer: String,
    document: String,
}

impl Request {
    fn new(n: u32, point: f64, answer: &str) -> Request {
        Request {
            id: trace_id(n, point),
            question: format!("Where is my order number {n}, please?"),
            answer: answer.to_string(),
            document: format!("Order {n} left the warehouse on Monday and arrives in 3 days."),
        }
    }

    fn spans(&self) -> Vec<Span> {
        let start = now_nanos() - 2_000_000_000;
        let root = [1u8; 8];
        vec![
            Span {
                trace_id: self.id.to_vec(),
                span_id: root.to_vec(),
                name: "support.answer".into(),
                start_time_unix_nano: start,
                end_time_unix_nano: start + 900_000_000,
                attributes: vec![
                    text("openinference.span.kind", "CHAIN"),
                    text("input.value", &self.question),
                    text("output.value", &self.answer),
                ],
                ..Default::default()
            },
            Span {
                trace_id: self.id.to_vec(),
                span_id: [2u8; 8].to_vec(),
                parent_span_id: root.to_vec(),
                name: "retrieve".into(),
                start_time_unix_nano: start + 10_000_000,
                end_time_unix_nano: start + 100_000_000,
                attributes: vec![
                    text("openinference.span.kind", "RETRIEVER"),
                    text("input.value", &self.question),
                    text("retrieval.documents.0.document.id", "kb-7"),
                    text("retrieval.documents.0.document.content", &self.document),
                ],
                ..Default::default()
            },
        ]
    }

    fn hex(&self) -> String {
        hex_of(&self.id)
    }
}

fn hex_of(id: &[u8]) -> String {
    id.iter().map(|b| format!("{b:02x}")).collect()
}

fn send(server: &Server, requests: &[Request]) {
    let spans: Vec<Span> = requests.iter().flat_map(Request::spans).collect();
    let response = post_protobuf(server, export(spans).encode_to_vec());
    assert_eq!(response.status().as_u16(), 200);
}

/// A server judging with `judge`; quiet after 1 s, fast retries.
fn server(dir: &std::path::Path, judge: &Judge, extra: &[&str]) -> Server {
    let url = judge.url();
    let mut args = vec![
        "--judge-url",
        url.as_str(),
        "--judge-model",
        "judge-1",
        "--eval-quiet-secs",
        "1",
        "--judge-timeout-secs",
        "2",
    ];
    args.extend_from_slice(extra);
    Server::start_with(&dir.join("data"), &args)
}

fn status(server: &Server) -> Value {
    let (code, answer) = server.get_json("/api/v1/evals");
    assert_eq!(code, 200, "{answer}");
    answer
}

/// Waits until `done(status)` holds.
fn wait_status(server: &Server, within: Duration, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let answer = status(server);
        if done(&answer) {
            return answer;
        }
        assert!(Instant::now() < deadline, "{what} not reached within {within:?}: {answer}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The request's scores by name, from its lookup view.
fn scores(server: &Server, trace_hex: &str) -> HashMap<String, Vec<Value>> {
    let (code, view) = server.get_json(&format!("/api/v1/requests/{trace_hex}"));
    assert_eq!(code, 200, "{view}");
    let mut out: HashMap<String, Vec<Value>> = HashMap::new();
    let all = view["scores"].as_array().cloned().unwrap_or_default();
    for score in all {
        out.entry(score["name"].as_str().unwrap().to_string()).or_default().push(score);
    }
    out
}

fn always(act: Act) -> Arc<Script> {
    Arc::new(move |_: &str, _: usize| act)
}

#[test]
fn the_configured_share_is_sampled_and_the_judge_sees_the_exact_question_answer_and_documents() {
    let judge = Judge::start(always(Act::Verdict(0.9)));
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path(), &judge, &["--eval-sample-rate", "0.25"]);
    let requests: Vec<Request> = (0..40)
        .map(|n| Request::new(n, f64::from(n) / 40.0 + 0.001, &format!("Order {n} arrives Thursday [kb-7].")))
        .collect();
    send(&server, &requests);
    let sampled: Vec<&Request> = requests.iter().filter(|r| r.id[8] < 0x40).collect();
    assert_eq!(sampled.len(), 10, "a quarter of the ids fall under 0.25");

    wait_status(&server, Duration::from_secs(60), "10 judged", |s| s["judged"] == 10 && s["backlog"] == 0);
    let prompts = judge.prompts();
    assert_eq!(prompts.len(), 20, "two criteria per sampled request: {prompts:#?}");
    for request in &sampled {
        let shown: Vec<&String> = prompts.iter().filter(|p| p.contains(&request.question)).collect();
        assert_eq!(shown.len(), 2, "{}", request.question);
        for prompt in shown {
            assert!(prompt.contains(&request.answer), "{prompt}");
            assert!(prompt.contains(&request.document), "{prompt}");
        }
    }
    let unsampled = requests.iter().filter(|r| r.id[8] >= 0x40);
    for request in unsampled {
        assert!(prompts.iter().all(|p| !p.contains(&request.question)), "{} was not sampled", request.question);
        assert!(scores(&server, &request.hex()).is_empty());
    }
    let judged = scores(&server, &sampled[0].hex());
    let correctness = &judged["correctness"][0];
    assert_eq!(correctness["value"], 0.9);
    assert_eq!(correctness["evaluator"]["scorecard"], "builtin");
    assert_eq!(correctness["evaluator"]["model"], "judge-1");
    assert_eq!(judged["refusal"][0]["label"], "pass", "the checks ran too: {judged:?}");
}

#[test]
fn judge_scores_attach_to_their_requests_and_failing_finds_the_silent_failures_they_judge() {
    let script: Arc<Script> =
        Arc::new(|prompt: &str, _| if prompt.contains("cannot find") { Act::Verdict(0.1) } else { Act::Verdict(0.95) });
    let judge = Judge::start(script);
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path(), &judge, &["--eval-sample-rate", "1"]);
    let good: Vec<Request> = (0..4).map(|n| Request::new(n, 0.5, "Order arrives Thursday [kb-7].")).collect();
    let silent: Vec<Request> =
        (10..12).map(|n| Request::new(n, 0.5, "Sorry, I cannot find anything about that order.")).collect();
    send(&server, &good);
    send(&server, &silent);
    wait_status(&server, Duration::from_secs(60), "6 judged", |s| s["judged"] == 6);

    let (code, failing) = server.get_json("/api/v1/failing?since=1h&reasons=score&limit=50");
    assert_eq!(code, 200, "{failing}");
    let found: BTreeSet<String> =
        failing["examples"].as_array().unwrap().iter().map(|e| e["trace_id"].as_str().unwrap().to_string()).collect();
    let expected: BTreeSet<String> = silent.iter().map(Request::hex).collect();
    assert_eq!(found, expected, "{failing}");
    let failed = scores(&server, &silent[0].hex());
    assert_eq!(failed["correctness"][0]["label"], "fail");
    assert_eq!(failed["correctness"][0]["source"], "llm-judge");
}

#[test]
fn a_crash_mid_queue_still_judges_every_sampled_request_exactly_once() {
    let judge = Judge::start(Arc::new(|_: &str, _| {
        std::thread::sleep(Duration::from_millis(300));
        Act::Verdict(0.8)
    }));
    let dir = tempfile::tempdir().unwrap();
    let mut server = server(dir.path(), &judge, &["--eval-sample-rate", "1", "--judge-concurrency", "1"]);
    let requests: Vec<Request> = (0..8).map(|n| Request::new(n, 0.5, "It arrives Thursday [kb-7].")).collect();
    send(&server, &requests);
    wait_status(&server, Duration::from_secs(60), "a first request judged", |s| s["judged"].as_u64() >= Some(2));
    server.kill();
    server.restart();
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let judged = requests.iter().filter(|r| scores(&server, &r.hex()).contains_key("grounding")).count();
        if judged == requests.len() {
            break;
        }
        assert!(Instant::now() < deadline, "{judged} of {} judged: {}", requests.len(), status(&server));
        std::thread::sleep(Duration::from_millis(200));
    }
    wait_status(&server, Duration::from_secs(10), "an empty queue", |s| s["backlog"] == 0);
    std::thread::sleep(Duration::from_secs(2));
    for request in &requests {
        let by_name = scores(&server, &request.hex());
        for name in ["correctness", "grounding", "refusal"] {
            assert_eq!(by_name[name].len(), 1, "{name} of {} once: {by_name:?}", request.question);
        }
    }
}

#[test]
fn a_judge_that_errs_stalls_or_answers_garbage_is_retried_then_reported_and_nothing_crashes() {
    let script: Arc<Script> = Arc::new(|prompt: &str, nth| {
        if prompt.contains("order number 1,") {
            if prompt.contains("Criterion: grounding") {
                return Act::Verdict(0.9);
            }
            // The flaky request's correctness: 500, a stall past the timeout, garbage, then a verdict.
            match nth {
                1 => Act::Error,
                2 => Act::Stall(Duration::from_secs(4)),
                3 => Act::Garbage,
                _ => Act::Verdict(0.7),
            }
        } else {
            Act::Garbage
        }
    });
    let judge = Judge::start(script);
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path(), &judge, &["--eval-sample-rate", "1", "--judge-max-attempts", "5"]);
    let requests =
        [Request::new(1, 0.5, "It arrives Thursday [kb-7]."), Request::new(2, 0.5, "It arrives Friday [kb-7].")];
    send(&server, &requests);
    let [flaky, hopeless] = &requests;

    let done = wait_status(&server, Duration::from_secs(90), "one judged and one given up", |s| {
        s["judged"] == 1 && s["failed"] == 1
    });
    assert!(done["judge_failures"].as_u64().unwrap() >= 3 + 5, "{done}");
    assert!(done["last_error"].as_str().unwrap().contains("not the JSON object"), "{done}");
    let judged = scores(&server, &flaky.hex());
    assert_eq!(judged["correctness"][0]["value"], 0.7, "{judged:?}");
    let given_up = scores(&server, &hopeless.hex());
    assert!(!given_up.contains_key("correctness"), "a failure is never a score: {given_up:?}");
    assert_eq!(given_up["refusal"][0]["label"], "pass", "its checks are kept: {given_up:?}");

    let metrics = server.client().get(server.api("/metrics")).send().unwrap().text().unwrap();
    for outcome in ["error_status", "timeout", "invalid_answer"] {
        let line = format!("tracehound_judge_calls_total{{outcome=\"{outcome}\"}}");
        assert!(metrics.contains(&line), "{line} missing");
    }
    assert!(metrics.contains("tracehound_eval_requests_total{outcome=\"judge_failed\"} 1"), "{metrics}");
}

#[test]
fn the_daily_budget_stops_judging_once_spent_and_says_so() {
    let judge = Judge::start(always(Act::Verdict(0.9)));
    let dir = tempfile::tempdir().unwrap();
    let server = server(
        dir.path(),
        &judge,
        &["--eval-sample-rate", "1", "--judge-concurrency", "1", "--judge-daily-budget-tokens", "100"],
    );
    let requests: Vec<Request> = (0..3).map(|n| Request::new(n, 0.5, "It arrives Thursday [kb-7].")).collect();
    send(&server, &requests);
    let spent = wait_status(&server, Duration::from_secs(60), "the budget spent", |s| s["spend"]["exhausted"] == true);
    std::thread::sleep(Duration::from_secs(4));
    let after = status(&server);
    assert_eq!(after["judged"], 1, "70 tokens per call: one request's two calls spend the 100: {after}");
    assert_eq!(after["backlog"], 2, "the rest wait for tomorrow's budget: {after}");
    assert_eq!(after["spend"]["tokens"], 140, "{spent}");
    assert_eq!(judge.prompts().len(), 2, "no call once the budget is spent");
}

fn post(server: &Server, path: &str, body: &Value) -> (u16, Value) {
    let response = server.client().post(server.api(path)).json(body).send().unwrap();
    let status = response.status().as_u16();
    (status, response.json().unwrap_or(Value::Null))
}

#[test]
fn a_backfill_run_scores_stored_history_and_reports_its_progress() {
    let judge = Judge::start(always(Act::Verdict(0.6)));
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path(), &judge, &[]);
    let requests: Vec<Request> = (0..6).map(|n| Request::new(n, 0.9, "It arrives Thursday [kb-7].")).collect();
    send(&server, &requests);
    std::thread::sleep(Duration::from_secs(2));
    assert!(judge.prompts().is_empty(), "sampling is off: nothing is judged live");

    let body = json!({"since": "1h", "evaluators": ["judge", "refusal"]});
    let (code, run) = post(&server, "/api/v1/evals/runs", &body);
    assert_eq!(code, 201, "{run}");
    assert_eq!(run["queued"], 6, "{run}");
    let id = run["id"].as_str().unwrap().to_string();
    let deadline = Instant::now() + Duration::from_secs(60);
    let done = loop {
        let (_, run) = server.get_json(&format!("/api/v1/evals/runs/{id}"));
        if run["state"] == "done" {
            break run;
        }
        assert!(Instant::now() < deadline, "the run did not finish: {run}");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!((done["done"].as_u64(), done["remaining"].as_u64()), (Some(6), Some(0)), "{done}");
    for request in &requests {
        let by_name = scores(&server, &request.hex());
        assert_eq!(by_name["correctness"][0]["value"], 0.6);
        assert!(by_name.contains_key("refusal") && !by_name.contains_key("tool_error"), "only the evaluators named");
    }
    let (code, again) = post(&server, "/api/v1/evals/runs", &body);
    assert_eq!((code, again["queued"].as_u64(), again["already_judged"].as_u64()), (201, Some(0), Some(6)), "{again}");
}

#[test]
fn a_cancelled_run_leaves_the_queue_and_keeps_what_it_scored() {
    let judge = Judge::start(Arc::new(|_: &str, _| {
        std::thread::sleep(Duration::from_millis(400));
        Act::Verdict(0.6)
    }));
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path(), &judge, &["--judge-concurrency", "1"]);
    let requests: Vec<Request> = (0..10).map(|n| Request::new(n, 0.9, "It arrives Thursday [kb-7].")).collect();
    send(&server, &requests);
    let (code, run) = post(&server, "/api/v1/evals/runs", &json!({"since": "1h"}));
    assert_eq!(code, 201, "{run}");
    let id = run["id"].as_str().unwrap();
    std::thread::sleep(Duration::from_secs(1));
    let response = server.client().delete(server.api(&format!("/api/v1/evals/runs/{id}"))).send().unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let cancelled: Value = response.json().unwrap();
    assert_eq!((cancelled["state"].as_str(), cancelled["remaining"].as_u64()), (Some("cancelled"), Some(0)));
    std::thread::sleep(Duration::from_secs(3));
    let scored = requests.iter().filter(|r| scores(&server, &r.hex()).contains_key("correctness")).count();
    assert!((1..10).contains(&scored), "{scored} scored: some before the cancel, none of the rest after");
    assert_eq!(status(&server)["backlog"], 0);
}

#[test]
fn external_scorers_lease_requests_with_their_evidence_and_complete_them_once() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(
        &dir.path().join("data"),
        &["--eval-sample-rate", "1", "--eval-external-scorers", "--eval-quiet-secs", "1"],
    );
    let requests: Vec<Request> = (0..3).map(|n| Request::new(n, 0.5, "It arrives Thursday [kb-7].")).collect();
    send(&server, &requests);
    wait_status(&server, Duration::from_secs(30), "3 due", |s| s["due"] == 3);

    let (code, first) = post(&server, "/api/v1/evals/leases", &json!({"limit": 2, "lease_seconds": 60}));
    assert_eq!(code, 200, "{first}");
    let leased = first["requests"].as_array().unwrap();
    assert_eq!(leased.len(), 2, "{first}");
    let one = requests.iter().find(|r| r.hex() == leased[0]["trace_id"]).unwrap();
    assert_eq!(leased[0]["question"], one.question.as_str());
    assert_eq!(leased[0]["answer"], one.answer.as_str());
    assert_eq!(leased[0]["documents"][0]["content"], one.document.as_str());
    let (_, second) = post(&server, "/api/v1/evals/leases", &json!({}));
    assert_eq!(second["requests"].as_array().unwrap().len(), 1, "a leased request is not leased twice: {second}");

    let lease = first["lease_id"].as_str().unwrap();
    let results: Vec<Value> = leased
        .iter()
        .map(|r| json!({"trace_id": r["trace_id"], "scores": [{"name": "helpfulness", "value": 0.2, "label": "fail"}]}))
        .collect();
    let body = json!({"scorecard": "ours", "version": "7", "model": "our-judge", "results": results});
    let (code, completed) = post(&server, &format!("/api/v1/evals/leases/{lease}"), &body);
    assert_eq!((code, completed["completed"].as_u64()), (200, Some(2)), "{completed}");
    let (code, again) = post(&server, &format!("/api/v1/evals/leases/{lease}"), &body);
    assert_eq!(code, 404, "a completed request cannot be completed again: {again}");
    let by_name = scores(&server, &one.hex());
    assert_eq!(by_name["helpfulness"].len(), 1);
    assert_eq!(by_name["helpfulness"][0]["source"], "external-scorer");
    assert_eq!(by_name["helpfulness"][0]["evaluator"]["version"], "7");
    assert!(!by_name.contains_key("refusal"), "the server judges nothing itself with external scorers");
    wait_status(&server, Duration::from_secs(5), "one left", |s| s["backlog"] == 1);
}

fn cli(server: &Server, args: &[&str]) -> String {
    let api = server.api("");
    let output = std::process::Command::new(common::binary())
        .args(args)
        .args(["--api-url", api.trim_end_matches('/')])
        .output()
        .unwrap();
    assert!(output.status.success(), "{args:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn the_cli_follows_a_run_to_its_end_and_shows_the_status() {
    let judge = Judge::start(always(Act::Verdict(0.8)));
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path(), &judge, &[]);
    let requests: Vec<Request> = (0..3).map(|n| Request::new(n, 0.9, "It arrives Thursday [kb-7].")).collect();
    send(&server, &requests);
    let text = cli(&server, &["evals", "run", "--since", "1h", "--evaluator", "judge", "--wait"]);
    let last = text.lines().last().unwrap();
    assert!(last.contains(" done: 3 of 3 done, 0 remaining"), "{text}");
    let status = cli(&server, &["evals", "status"]);
    assert!(status.contains("judge:     judge-1 at http://127.0.0.1:"), "{status}");
    assert!(status.contains("scorecard builtin v1 (correctness, grounding)"), "{status}");
    assert!(status.contains("judged 3"), "{status}");
}

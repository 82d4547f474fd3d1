//! Replays captured fixture export requests over their original transport.

use std::path::Path;

use prost::Message;
use tracehound_proto::collector::logs::v1::logs_service_client::LogsServiceClient;
use tracehound_proto::collector::logs::v1::ExportLogsServiceRequest;
use tracehound_proto::collector::trace::v1::trace_service_client::TraceServiceClient;
use tracehound_proto::collector::trace::v1::ExportTraceServiceRequest;

use super::Server;

/// One captured export: its signal and the files that hold it.
struct Captured {
    signal: String,
    pb: Vec<u8>,
    body_as_sent: Option<(Vec<u8>, &'static str, Option<&'static str>)>,
}

fn captured(dir: &Path) -> Vec<Captured> {
    let requests = dir.join("requests");
    let index = std::fs::read_to_string(requests.join("index.jsonl")).expect("index.jsonl");
    let mut out = Vec::new();
    for line in index.lines().filter(|l| !l.trim().is_empty()) {
        let meta: serde_json::Value = serde_json::from_str(line).expect("index line");
        let pb_file = meta["pb_file"].as_str().expect("pb_file");
        let pb = std::fs::read(requests.join(pb_file)).expect("pb");
        let stem = pb_file.trim_end_matches(".pb");
        let transport = meta["transport"].as_str().unwrap_or("");
        let body_as_sent = if transport.contains("json") {
            Some((
                std::fs::read(requests.join(format!("{stem}.wire.json"))).expect("wire json"),
                "application/json",
                None,
            ))
        } else if requests.join(format!("{stem}.pb.gz")).exists() {
            Some((
                std::fs::read(requests.join(format!("{stem}.pb.gz"))).expect("gz"),
                "application/x-protobuf",
                Some("gzip"),
            ))
        } else if transport.starts_with("http") {
            Some((pb.clone(), "application/x-protobuf", None))
        } else {
            None
        };
        out.push(Captured { signal: meta["signal"].as_str().unwrap_or("traces").to_string(), pb, body_as_sent });
    }
    out
}

/// Sends every captured request of a fixture to the server, each over its own transport
/// (gRPC fixtures over gRPC, with gzip when the fixture name says so). Returns the count.
pub fn replay(server: &Server, dir: &Path) -> usize {
    let name = dir.file_name().unwrap().to_string_lossy().to_string();
    let exports = captured(dir);
    if name.contains("grpc") {
        let gzip = name.ends_with("gzip");
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let channel =
                tonic::transport::Endpoint::from_shared(server.grpc_endpoint()).unwrap().connect().await.unwrap();
            let mut traces = TraceServiceClient::new(channel.clone());
            let mut logs = LogsServiceClient::new(channel);
            if gzip {
                traces = traces.send_compressed(tonic::codec::CompressionEncoding::Gzip);
                logs = logs.send_compressed(tonic::codec::CompressionEncoding::Gzip);
            }
            for export in &exports {
                if export.signal == "logs" {
                    let request = ExportLogsServiceRequest::decode(&export.pb[..]).unwrap();
                    let answer = logs.export(request).await.expect("logs export accepted").into_inner();
                    assert!(answer.partial_success.map_or(0, |p| p.rejected_log_records) == 0, "{name}: logs rejected");
                } else {
                    let request = ExportTraceServiceRequest::decode(&export.pb[..]).unwrap();
                    let answer = traces.export(request).await.expect("trace export accepted").into_inner();
                    assert!(answer.partial_success.map_or(0, |p| p.rejected_spans) == 0, "{name}: spans rejected");
                }
            }
        });
    } else {
        let client = reqwest::blocking::Client::new();
        for export in &exports {
            let (body, content_type, encoding) = export.body_as_sent.clone().expect("http body");
            let path = if export.signal == "logs" { "/v1/logs" } else { "/v1/traces" };
            let mut request = client.post(server.otlp_http(path)).header("content-type", content_type).body(body);
            if let Some(encoding) = encoding {
                request = request.header("content-encoding", encoding);
            }
            let response = request.send().expect("OTLP/HTTP reachable");
            assert_eq!(response.status().as_u16(), 200, "{name}: {}", response.text().unwrap_or_default());
        }
    }
    exports.len()
}

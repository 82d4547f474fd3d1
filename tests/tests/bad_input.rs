//! Bad input gets a clear error and loses nothing already accepted.

mod common;

use std::io::Write;

use common::otlp::{export, post_traces as post, text};
use common::Server;
use prost::Message;
use tracehound_proto::collector::trace::v1::trace_service_client::TraceServiceClient;
use tracehound_proto::collector::trace::v1::ExportTraceServiceResponse;
use tracehound_proto::trace::v1::Span;

fn span(trace: [u8; 16], id: u8, parent: Option<u8>, request_id: &str) -> Span {
    Span {
        trace_id: trace.to_vec(),
        span_id: vec![id; 8],
        parent_span_id: parent.map(|p| vec![p; 8]).unwrap_or_default(),
        name: format!("span-{id}"),
        start_time_unix_nano: 1_700_000_000_000_000_000 + id as u64,
        end_time_unix_nano: 1_700_000_000_100_000_000,
        attributes: vec![text("request.id", request_id)],
        ..Default::default()
    }
}

fn stats(server: &Server) -> serde_json::Value {
    server.get_json("/api/v1/stats").1
}

#[test]
fn a_span_with_a_bad_id_is_reported_and_its_siblings_are_stored() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let mut short_id = span([7; 16], 2, None, "req_bad_sibling");
    short_id.span_id = vec![1, 2, 3];
    let mut no_trace = span([7; 16], 3, None, "req_bad_sibling");
    no_trace.trace_id.clear();
    let body = export(vec![span([7; 16], 1, None, "req_good_sibling"), short_id, no_trace]).encode_to_vec();
    let response = post(&server, body, "application/x-protobuf", None);
    assert_eq!(response.status().as_u16(), 200);
    let answer = ExportTraceServiceResponse::decode(response.bytes().unwrap()).unwrap();
    let partial = answer.partial_success.expect("partial_success is set");
    assert_eq!(partial.rejected_spans, 2);
    assert!(partial.error_message.contains("span_id"), "{}", partial.error_message);
    assert!(partial.error_message.contains("trace_id"), "{}", partial.error_message);
    assert_eq!(server.get_json("/api/v1/lookup/req_good_sibling").0, 200);
}

#[test]
fn a_bad_span_over_grpc_is_reported_in_partial_success() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let mut bad = span([8; 16], 2, None, "req_grpc_bad");
    bad.trace_id = vec![0; 16];
    let request = export(vec![span([8; 16], 1, None, "req_grpc_good"), bad]);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let answer = runtime.block_on(async {
        let mut client = TraceServiceClient::connect(server.grpc_endpoint()).await.unwrap();
        client.export(request).await.unwrap().into_inner()
    });
    assert_eq!(answer.partial_success.unwrap().rejected_spans, 1);
    assert_eq!(server.get_json("/api/v1/lookup/req_grpc_good").0, 200);
}

#[test]
fn a_malformed_protobuf_body_gets_400_with_a_message() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let response = post(&server, vec![0xff, 0xff, 0xff, 0x01, 0x02], "application/x-protobuf", None);
    assert_eq!(response.status().as_u16(), 400);
    let status = tracehound_proto::rpc::Status::decode(response.bytes().unwrap()).unwrap();
    assert!(status.message.contains("protobuf"), "{}", status.message);
}

#[test]
fn malformed_json_gets_400_with_a_json_message() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let response = post(&server, b"{\"resourceSpans\": [".to_vec(), "application/json", None);
    assert_eq!(response.status().as_u16(), 400);
    assert_eq!(response.headers()["content-type"], "application/json");
    let body: serde_json::Value = response.json().unwrap();
    assert!(body["message"].as_str().unwrap().contains("OTLP/JSON"), "{body}");
}

#[test]
fn a_malformed_grpc_message_gets_invalid_argument() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let status = runtime.block_on(raw_grpc_export(&server.grpc_endpoint(), vec![0xff, 0xff, 0xff, 0x01]));
    assert_eq!(status, tonic::Code::InvalidArgument);
}

#[test]
fn an_unsupported_content_type_gets_415() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let response = post(&server, b"hello".to_vec(), "text/plain", None);
    assert_eq!(response.status().as_u16(), 415);
}

#[test]
fn a_body_over_the_limit_gets_413() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(dir.path(), &["--max-body-bytes", "1024"]);
    let mut big = span([9; 16], 1, None, "req_big");
    big.attributes.push(text("input.value", &"x".repeat(4096)));
    let response = post(&server, export(vec![big]).encode_to_vec(), "application/x-protobuf", None);
    assert_eq!(response.status().as_u16(), 413);
}

#[test]
fn a_gzip_bomb_gets_413() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(dir.path(), &["--max-decompressed-bytes", "1048576"]);
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(&vec![0u8; 64 * 1024 * 1024]).unwrap();
    let bomb = encoder.finish().unwrap();
    let response = post(&server, bomb, "application/x-protobuf", Some("gzip"));
    assert_eq!(response.status().as_u16(), 413);
}

#[test]
fn a_grpc_message_over_the_limit_gets_resource_exhausted() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(dir.path(), &["--max-decompressed-bytes", "1024"]);
    let mut big = span([9; 16], 1, None, "req_big_grpc");
    big.attributes.push(text("input.value", &"x".repeat(4096)));
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let code = runtime.block_on(async {
        let mut client = TraceServiceClient::connect(server.grpc_endpoint()).await.unwrap();
        client.export(export(vec![big])).await.unwrap_err().code()
    });
    assert_eq!(code, tonic::Code::ResourceExhausted);
}

#[test]
fn rejected_requests_lose_nothing_already_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let good = export(vec![span([10; 16], 1, None, "req_before_garbage")]).encode_to_vec();
    assert_eq!(post(&server, good, "application/x-protobuf", None).status().as_u16(), 200);
    assert_eq!(post(&server, vec![0xff; 10], "application/x-protobuf", None).status().as_u16(), 400);
    assert_eq!(server.get_json("/api/v1/lookup/req_before_garbage").0, 200);
    assert_eq!(stats(&server)["spans"], 1);
}

#[test]
fn re_sent_spans_are_stored_once() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let body = export(vec![span([11; 16], 1, None, "req_resent"), span([11; 16], 2, Some(1), "req_resent")]);
    for _ in 0..3 {
        assert_eq!(post(&server, body.encode_to_vec(), "application/x-protobuf", None).status().as_u16(), 200);
    }
    assert_eq!(stats(&server)["spans"], 2);
    assert_eq!(stats(&server)["requests"], 1);
}

#[test]
fn children_sent_before_their_parent_assemble_into_one_trace() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let child = export(vec![span([12; 16], 2, Some(1), "req_kids_first")]);
    let grandchild = export(vec![span([12; 16], 3, Some(2), "req_kids_first")]);
    let root = export(vec![span([12; 16], 1, None, "req_kids_first")]);
    for body in [grandchild, child, root] {
        assert_eq!(post(&server, body.encode_to_vec(), "application/x-protobuf", None).status().as_u16(), 200);
    }
    let (_, answer) = server.get_json("/api/v1/lookup/req_kids_first");
    let roots = answer["request"]["spans"].as_array().unwrap();
    assert_eq!(roots.len(), 1, "{answer}");
    assert_eq!(roots[0]["children"][0]["children"][0]["span_id"], hex::encode([3u8; 8]));
}

/// Sends raw bytes as a gRPC TraceService/Export message, bypassing client-side encoding.
async fn raw_grpc_export(endpoint: &str, payload: Vec<u8>) -> tonic::Code {
    use tonic::client::Grpc;
    use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};

    #[derive(Default)]
    struct RawCodec;
    struct RawEncoder;
    struct RawDecoder;
    impl Encoder for RawEncoder {
        type Item = Vec<u8>;
        type Error = tonic::Status;
        fn encode(&mut self, item: Vec<u8>, dst: &mut EncodeBuf<'_>) -> Result<(), tonic::Status> {
            use prost::bytes::BufMut;
            dst.put_slice(&item);
            Ok(())
        }
    }
    impl Decoder for RawDecoder {
        type Item = Vec<u8>;
        type Error = tonic::Status;
        fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Vec<u8>>, tonic::Status> {
            use prost::bytes::Buf;
            Ok(Some(src.copy_to_bytes(src.remaining()).to_vec()))
        }
    }
    impl Codec for RawCodec {
        type Encode = Vec<u8>;
        type Decode = Vec<u8>;
        type Encoder = RawEncoder;
        type Decoder = RawDecoder;
        fn encoder(&mut self) -> RawEncoder {
            RawEncoder
        }
        fn decoder(&mut self) -> RawDecoder {
            RawDecoder
        }
    }
    let channel = tonic::transport::Endpoint::from_shared(endpoint.to_string()).unwrap().connect().await.unwrap();
    let mut grpc = Grpc::new(channel);
    grpc.ready().await.unwrap();
    let path = tonic::codegen::http::uri::PathAndQuery::from_static(
        "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
    );
    match grpc.unary(tonic::Request::new(payload), path, RawCodec).await {
        Ok(_) => tonic::Code::Ok,
        Err(status) => status.code(),
    }
}

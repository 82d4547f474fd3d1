//! Arbitrary bytes as an OTLP protobuf export (traces and logs), and whatever decodes
//! through normalization: a body off the wire must be refused or normalized, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use prost::Message;
use tracehound_normalize::{normalize_logs, normalize_traces, NormalizeConfig};
use tracehound_proto::collector::logs::v1::ExportLogsServiceRequest;
use tracehound_proto::collector::trace::v1::ExportTraceServiceRequest;

fuzz_target!(|data: &[u8]| {
    let cfg = NormalizeConfig::default();
    if let Ok(request) = ExportTraceServiceRequest::decode(data) {
        let _ = normalize_traces(&request, &cfg);
    }
    if let Ok(request) = ExportLogsServiceRequest::decode(data) {
        let _ = normalize_logs(&request, &cfg);
    }
});

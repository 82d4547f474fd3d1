//! Arbitrary bytes as an OTLP/JSON export (traces and logs), and whatever parses through
//! normalization: a body off the wire must be refused or normalized, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tracehound_normalize::{normalize_logs, normalize_traces, NormalizeConfig};
use tracehound_proto::collector::logs::v1::ExportLogsServiceRequest;
use tracehound_proto::collector::trace::v1::ExportTraceServiceRequest;

fuzz_target!(|data: &[u8]| {
    let cfg = NormalizeConfig::default();
    if let Ok(request) = serde_json::from_slice::<ExportTraceServiceRequest>(data) {
        let _ = normalize_traces(&request, &cfg);
    }
    if let Ok(request) = serde_json::from_slice::<ExportLogsServiceRequest>(data) {
        let _ = normalize_logs(&request, &cfg);
    }
});

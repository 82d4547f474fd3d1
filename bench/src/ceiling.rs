//! The ceiling on this machine: how fast one core decodes (and normalizes) the same payloads,
//! and how fast the data directory's disk takes fsync'd sequential writes. Ingest is reported
//! as a share of these.

use std::io::{Read, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use prost::Message;
use serde::Serialize;
use tracehound_normalize::{normalize_traces, NormalizeConfig};
use tracehound_proto::collector::trace::v1::ExportTraceServiceRequest;

use crate::traces::SPANS_PER_REQUEST;

/// Single-core throughput of one processing step.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct CoreThroughput {
    /// Spans per second.
    pub spans_per_sec: f64,
    /// Uncompressed protobuf megabytes (10^6) per second.
    pub raw_mb_per_sec: f64,
}

/// Decode-side ceilings for one span size.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct DecodeCeiling {
    /// Protobuf decode only.
    pub decode: CoreThroughput,
    /// Gunzip, then protobuf decode.
    pub gunzip_decode: CoreThroughput,
    /// Protobuf decode, then normalization into the store's model.
    pub decode_normalize: CoreThroughput,
}

/// Measures each step over `raw` (protobuf bodies) and `gzipped` (the same, gzipped), each
/// for at least `min` of repeated passes, on the calling thread.
pub fn decode_ceiling(raw: &[Vec<u8>], gzipped: &[Vec<u8>], min: Duration) -> DecodeCeiling {
    let raw_bytes: usize = raw.iter().map(Vec::len).sum();
    let decode = repeat(min, raw.len(), raw_bytes, || {
        for body in raw {
            let request = ExportTraceServiceRequest::decode(body.as_slice()).unwrap_or_default();
            std::hint::black_box(&request);
        }
    });
    let gunzip_decode = repeat(min, raw.len(), raw_bytes, || {
        let mut buffer = Vec::new();
        for body in gzipped {
            buffer.clear();
            let _ = flate2::read::GzDecoder::new(body.as_slice()).read_to_end(&mut buffer);
            let request = ExportTraceServiceRequest::decode(buffer.as_slice()).unwrap_or_default();
            std::hint::black_box(&request);
        }
    });
    let config = NormalizeConfig::default();
    let decode_normalize = repeat(min, raw.len(), raw_bytes, || {
        for body in raw {
            let request = ExportTraceServiceRequest::decode(body.as_slice()).unwrap_or_default();
            std::hint::black_box(normalize_traces(&request, &config));
        }
    });
    DecodeCeiling { decode, gunzip_decode, decode_normalize }
}

fn repeat(min: Duration, requests: usize, bytes: usize, mut pass: impl FnMut()) -> CoreThroughput {
    let started = Instant::now();
    let mut passes = 0usize;
    while passes == 0 || started.elapsed() < min {
        pass();
        passes += 1;
    }
    let seconds = started.elapsed().as_secs_f64();
    CoreThroughput {
        spans_per_sec: (passes * requests * SPANS_PER_REQUEST) as f64 / seconds,
        raw_mb_per_sec: (passes * bytes) as f64 / 1e6 / seconds,
    }
}

/// fsync'd sequential write throughput of one chunk size.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct FsyncWrite {
    /// Bytes per write; each write is followed by `fdatasync`.
    pub chunk_bytes: usize,
    /// Megabytes (10^6) per second.
    pub mb_per_sec: f64,
    /// Writes (and syncs) per second.
    pub syncs_per_sec: f64,
}

/// Appends `chunk`-byte writes, each synced, to a scratch file in `dir` for `duration`
/// (at most `max_bytes`), then deletes the file.
pub fn fsync_write(dir: &Path, chunk: usize, duration: Duration, max_bytes: u64) -> std::io::Result<FsyncWrite> {
    let path = dir.join("fsync-ceiling.scratch");
    let mut file = std::fs::File::create(&path)?;
    // Incompressible, as compressed values are.
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let block: Vec<u8> = (0..chunk)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    let started = Instant::now();
    let mut written = 0u64;
    let mut syncs = 0u64;
    while started.elapsed() < duration && written < max_bytes {
        file.write_all(&block)?;
        file.sync_data()?;
        written += chunk as u64;
        syncs += 1;
    }
    let seconds = started.elapsed().as_secs_f64();
    drop(file);
    std::fs::remove_file(&path)?;
    Ok(FsyncWrite {
        chunk_bytes: chunk,
        mb_per_sec: written as f64 / 1e6 / seconds,
        syncs_per_sec: syncs as f64 / seconds,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fsync_write_reports_throughput_and_leaves_no_scratch_file() {
        let dir = tempfile::tempdir().unwrap();
        let result = fsync_write(dir.path(), 4096, Duration::from_millis(50), 1 << 20).unwrap();
        assert!(result.mb_per_sec > 0.0 && result.syncs_per_sec > 0.0);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}

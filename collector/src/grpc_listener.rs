//! The OTLP/gRPC listener's connections, with plain HTTP/1 turned away in words.
//!
//! An SDK configured for OTLP/HTTP but pointed at the gRPC port sends `POST /v1/traces` over
//! HTTP/1.1. An HTTP/2-only server resets such a connection, and the SDK retries it forever
//! with nothing in either log. Here the first bytes of each connection are peeked: HTTP/2's
//! preface (and TLS, whose handshake tonic does) goes on to tonic untouched; an HTTP/1
//! request line is answered with a 404 that names the OTLP/HTTP port, and counted.

use std::io;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;
use tracehound_error::ErrorCode;

use crate::self_metrics::{record_refusal, warn_misdirected, Misdirected, Signal};

/// HTTP/2's connection preface begins so; no HTTP/1 method does.
const H2_PREFACE_START: &[u8] = b"PRI ";
/// The first byte of a TLS record carrying a handshake.
const TLS_HANDSHAKE: u8 = 0x16;
/// How long a connection may stay silent before it is handed to tonic undecided.
const SNIFF_TIMEOUT: Duration = Duration::from_secs(5);
/// Request bytes read, at most, before answering an HTTP/1 request.
const MAX_REQUEST_HEAD: usize = 16 * 1024;
/// Request body read and dropped after the answer, at most, so that closing does not reset
/// a connection whose client is still sending and lose the answer with it.
const MAX_DRAIN: usize = 8 * 1024 * 1024;
/// How long the rest of the request is drained after the answer.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(2);
/// Connections decided but not yet taken by tonic.
const BACKLOG: usize = 128;
/// The body of the answer to HTTP/1.
pub const WRONG_PORT_ANSWER: &str = "this is Tracehound's OTLP/gRPC port, which speaks HTTP/2 gRPC only: send \
    OTLP/HTTP (POST /v1/traces, POST /v1/logs) to the OTLP/HTTP port (default 4318)\n";

/// What the first bytes of a connection say it speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opening {
    /// HTTP/2, TLS, or anything else tonic should judge.
    PassOn,
    /// An HTTP/1 request line.
    Http1,
    /// Too few bytes yet to tell.
    Undecided,
}

/// Judges a connection by the bytes it opened with.
pub fn judge(first: &[u8]) -> Opening {
    if first.first() == Some(&TLS_HANDSHAKE) {
        return Opening::PassOn;
    }
    if first.len() < H2_PREFACE_START.len() {
        return if H2_PREFACE_START.starts_with(first) || first.iter().all(u8::is_ascii_uppercase) {
            Opening::Undecided
        } else {
            Opening::PassOn
        };
    }
    if first.starts_with(H2_PREFACE_START) {
        return Opening::PassOn;
    }
    // A method token, then a space: `POST /v1/traces HTTP/1.1`.
    let method = first.iter().take_while(|b| b.is_ascii_uppercase()).count();
    match first.get(method) {
        Some(b' ') if method > 0 => Opening::Http1,
        None => Opening::Undecided,
        _ => Opening::PassOn,
    }
}

/// Accepts connections until `stop`, answering HTTP/1 itself and yielding the rest (with
/// `TCP_NODELAY`: without it Nagle's algorithm holds a gRPC answer's trailers until the
/// client's delayed ACK, up to 40 ms on Linux) for tonic's `serve_with_incoming`.
pub fn incoming(listener: TcpListener, mut stop: watch::Receiver<bool>) -> ReceiverStream<io::Result<TcpStream>> {
    let (tx, rx) = mpsc::channel(BACKLOG);
    tokio::spawn(async move {
        loop {
            let accepted = tokio::select! {
                accepted = listener.accept() => accepted,
                _ = stop.wait_for(|stop| *stop) => return,
            };
            match accepted {
                Ok((stream, _)) => {
                    let tx = tx.clone();
                    tokio::spawn(async move {
                        if let Some(stream) = sort(stream).await {
                            // A closed receiver means the server is stopping.
                            let _ = tx.send(Ok(stream)).await;
                        }
                    });
                }
                // Too many open files and the like: tonic logs and goes on, as with its own listener.
                Err(e) => {
                    if tx.send(Err(e)).await.is_err() {
                        return;
                    }
                }
            }
        }
    });
    ReceiverStream::new(rx)
}

/// The stream for tonic, or `None` when it was HTTP/1 and has been answered here.
async fn sort(stream: TcpStream) -> Option<TcpStream> {
    let _ = stream.set_nodelay(true);
    let mut first = [0u8; 32];
    let deadline = tokio::time::Instant::now() + SNIFF_TIMEOUT;
    loop {
        let n = match tokio::time::timeout_at(deadline, stream.peek(&mut first)).await {
            Ok(Ok(n)) => n,
            // Silent or broken: tonic's own handling decides.
            Ok(Err(_)) | Err(_) => return Some(stream),
        };
        if n == 0 {
            return Some(stream);
        }
        match judge(&first[..n]) {
            Opening::PassOn => return Some(stream),
            Opening::Http1 => {
                answer_http1(stream).await;
                return None;
            }
            // Peek returns at once while bytes wait, so give the next segment a moment.
            Opening::Undecided => tokio::time::sleep(Duration::from_millis(5)).await,
        }
    }
}

/// Reads the request head, answers 404 naming the OTLP/HTTP port, and drains the body.
async fn answer_http1(mut stream: TcpStream) {
    let mut head = Vec::with_capacity(1024);
    let mut buf = [0u8; 4096];
    while head.len() < MAX_REQUEST_HEAD && !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match tokio::time::timeout(SNIFF_TIMEOUT, stream.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => head.extend_from_slice(&buf[..n]),
            _ => break,
        }
    }
    let line = head.split(|b| *b == b'\r').next().unwrap_or_default();
    let line = String::from_utf8_lossy(line);
    let mut words = line.split(' ');
    let (method, path) = (words.next().unwrap_or_default(), words.next().unwrap_or_default());
    let signal = match path {
        "/v1/logs" => Signal::LogRecords,
        "/v1/traces" => Signal::Spans,
        _ => Signal::Unknown,
    };
    record_refusal(signal, ErrorCode::NotFound);
    warn_misdirected(
        Misdirected::Http1OnGrpcPort,
        &format!("HTTP/1 {method} {path} on the OTLP/gRPC port: OTLP/HTTP goes to the OTLP/HTTP port (default 4318)"),
    );
    let body = WRONG_PORT_ANSWER;
    let response = format!(
        "HTTP/1.1 404 Not Found\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: {}\r\n\
         connection: close\r\n\r\n{body}",
        body.len()
    );
    if stream.write_all(response.as_bytes()).await.is_err() {
        return;
    }
    let _ = stream.shutdown().await;
    let drain = async {
        let mut drained = 0;
        while drained < MAX_DRAIN {
            match stream.read(&mut buf).await {
                Ok(n) if n > 0 => drained += n,
                _ => break,
            }
        }
    };
    let _ = tokio::time::timeout(DRAIN_TIMEOUT, drain).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_http2_preface_goes_on_to_tonic() {
        assert_eq!(judge(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), Opening::PassOn);
    }

    #[test]
    fn a_tls_handshake_goes_on_to_tonic() {
        assert_eq!(judge(&[0x16, 0x03, 0x01, 0x02, 0x00]), Opening::PassOn);
    }

    #[test]
    fn an_http1_post_is_answered_here() {
        assert_eq!(judge(b"POST /v1/traces HTTP/1.1\r\n"), Opening::Http1);
    }

    #[test]
    fn a_partial_preface_waits_for_more() {
        assert_eq!(judge(b"PR"), Opening::Undecided);
        assert_eq!(judge(b"POS"), Opening::Undecided);
    }

    #[test]
    fn bytes_that_are_no_request_line_go_on_to_tonic() {
        assert_eq!(judge(b"\x00\x00\x12\x04"), Opening::PassOn);
    }
}

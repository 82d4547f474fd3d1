//! TLS for the three listeners (OTLP/gRPC, OTLP/HTTP, API): one PEM certificate chain and
//! key, loaded and checked once at start-up, served with rustls on the ring provider.

use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};

use axum::serve::ListenerExt;
use axum::Router;
use axum_server::tls_rustls::RustlsConfig;
use tokio::net::TcpListener;
use tonic::transport::{Identity, ServerTlsConfig};

/// Why TLS could not be set up; the server refuses to start rather than serve in clear.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// Only one of the certificate and the key was given.
    #[error("TLS needs both --tls-cert and --tls-key; only {given} was given")]
    Incomplete {
        /// The flag that was given.
        given: &'static str,
    },
    /// A file could not be read.
    #[error("cannot read TLS {what} {}: {source}", path.display())]
    Read {
        /// `certificate` or `key`.
        what: &'static str,
        /// The path given.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// The files do not hold a usable PEM certificate chain and matching private key.
    #[error("TLS certificate {} and key {} do not load: {reason}", cert.display(), key.display())]
    Invalid {
        /// Certificate path.
        cert: PathBuf,
        /// Key path.
        key: PathBuf,
        /// What rustls said.
        reason: String,
    },
}

/// A loaded certificate and key, ready for every listener.
#[derive(Clone)]
pub struct ServerTls {
    cert_pem: Vec<u8>,
    key_pem: Vec<u8>,
    rustls: RustlsConfig,
}

impl ServerTls {
    /// Loads the PEM pair named by `--tls-cert` and `--tls-key`; `None` when neither is given.
    pub async fn load(cert: Option<&Path>, key: Option<&Path>) -> Result<Option<ServerTls>, TlsError> {
        let (cert, key) = match (cert, key) {
            (None, None) => return Ok(None),
            (Some(_), None) => return Err(TlsError::Incomplete { given: "--tls-cert" }),
            (None, Some(_)) => return Err(TlsError::Incomplete { given: "--tls-key" }),
            (Some(cert), Some(key)) => (cert, key),
        };
        let read = |what: &'static str, path: &Path| {
            std::fs::read(path).map_err(|source| TlsError::Read { what, path: path.to_path_buf(), source })
        };
        let cert_pem = read("certificate", cert)?;
        let key_pem = read("key", key)?;
        // Building the rustls configuration checks the chain parses and the key matches it,
        // so a bad pair fails here, at start-up, and not on the first handshake.
        let rustls = RustlsConfig::from_pem(cert_pem.clone(), key_pem.clone()).await.map_err(|e| {
            TlsError::Invalid { cert: cert.to_path_buf(), key: key.to_path_buf(), reason: e.to_string() }
        })?;
        Ok(Some(ServerTls { cert_pem, key_pem, rustls }))
    }

    /// The configuration for tonic's gRPC server.
    pub fn grpc(&self) -> ServerTlsConfig {
        ServerTlsConfig::new().identity(Identity::from_pem(&self.cert_pem, &self.key_pem))
    }
}

/// Serves an axum router on a bound listener, over TLS when `tls` is given, until `stop`
/// completes; in-flight requests are finished before it returns.
pub async fn serve_router(
    listener: TcpListener,
    router: Router,
    tls: Option<ServerTls>,
    stop: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let Some(tls) = tls else {
        let listener = listener.tap_io(|tcp| {
            if let Err(e) = tcp.set_nodelay(true) {
                tracing::warn!(error = %e, "cannot set TCP_NODELAY; small answers may wait for the peer's delayed ACK");
            }
        });
        return axum::serve(listener, router).with_graceful_shutdown(stop).await;
    };
    let handle = axum_server::Handle::new();
    let acceptor =
        axum_server::tls_rustls::RustlsAcceptor::new(tls.rustls).acceptor(axum_server::accept::NoDelayAcceptor::new());
    let server = axum_server::from_tcp(listener.into_std()?)?.acceptor(acceptor).handle(handle.clone());
    let stopper = tokio::spawn(async move {
        stop.await;
        // No deadline: like the plain listener, shutdown waits for every in-flight request.
        handle.graceful_shutdown(None);
    });
    let served = server.serve(router.into_make_service()).await;
    stopper.abort();
    served
}

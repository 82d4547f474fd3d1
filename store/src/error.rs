//! Errors of the store.

/// Anything that can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The storage engine failed (I/O, corruption, full disk).
    #[error("storage engine: {0}")]
    Engine(#[from] fjall::Error),
    /// Another process (another tracehound) has the data directory open.
    #[error(
        "the data directory {} is in use by another process: is a tracehound server already running on it? \
         Stop it, or give this one its own --data-dir",
        dir.display()
    )]
    InUse {
        /// The data directory.
        dir: std::path::PathBuf,
    },
    /// A stored value could not be decoded.
    #[error("corrupt value in {keyspace}: {reason}")]
    Corrupt {
        /// Keyspace that held the value.
        keyspace: &'static str,
        /// What was wrong.
        reason: String,
    },
    /// A value could not be encoded.
    #[error("encoding: {0}")]
    Encode(#[from] serde_json::Error),
    /// The writer queue is full; the caller should retry later.
    #[error("write queue is full")]
    QueueFull,
    /// The data directory's filesystem is nearly full; writes resume when space returns.
    #[error("disk nearly full: {free} bytes free, {reserve} bytes are kept in reserve")]
    DiskFull {
        /// Bytes free on the data directory's filesystem.
        free: u64,
        /// The configured reserve.
        reserve: u64,
    },
    /// The writer has stopped (shutdown or a fatal error).
    #[error("writer has stopped")]
    WriterStopped,
    /// The write failed; nothing of the batch was acknowledged.
    #[error("write failed: {0}")]
    WriteFailed(String),
}

/// Result with [`StoreError`].
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

impl tracehound_error::ServiceError for StoreError {
    fn error_code(&self) -> tracehound_error::ErrorCode {
        use tracehound_error::ErrorCode;
        match self {
            StoreError::QueueFull => ErrorCode::Overloaded,
            // Space may come back, and a stopped writer is a restart away.
            StoreError::DiskFull { .. } | StoreError::WriterStopped | StoreError::InUse { .. } => {
                ErrorCode::Unavailable
            }
            StoreError::Engine(_) | StoreError::Corrupt { .. } | StoreError::Encode(_) | StoreError::WriteFailed(_) => {
                ErrorCode::Internal
            }
        }
    }
}

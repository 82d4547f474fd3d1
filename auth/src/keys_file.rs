//! The keys file: tenants (name → id, optional rate limits) and keys (id, tenant, scopes,
//! hash, created, revoked). JSON, written atomically (temporary file, fsync, rename), readable
//! by its owner only. The keys themselves are never stored, only their hashes.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use tracehound_store::TenantId;

use crate::error::KeysFileError;
use crate::scope::Scope;
use crate::secret::{self, KeyHash};

/// Version of the file format this code writes and reads.
const FORMAT_VERSION: u32 = 1;

/// The tenant name that maps to [`TenantId::DEFAULT`], where data lands while auth is off,
/// so that data stays readable once keys are introduced.
pub const DEFAULT_TENANT: &str = "default";

/// Ingest rate limits of one tenant; `None` leaves the server-wide default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantLimits {
    /// Export bytes (decompressed) per second.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_bytes_per_sec: Option<u64>,
    /// Spans and log records per second.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_spans_per_sec: Option<u64>,
}

/// A tenant: a name and the id its data is stored under.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantRecord {
    /// Its name, as given to `keys add --tenant`.
    pub name: String,
    /// The store's tenant id.
    pub id: u32,
    /// Its ingest rate limits.
    #[serde(default, flatten)]
    pub limits: TenantLimits,
}

/// One key, without the key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRecord {
    /// Its public id, shown in listings and the audit trail.
    pub id: String,
    /// The tenant it belongs to (by name).
    pub tenant: String,
    /// What it may do.
    pub scopes: Vec<Scope>,
    /// BLAKE3 of the key, hex.
    pub hash: String,
    /// Creation time, Unix seconds.
    pub created_unix: u64,
    /// Revocation time, Unix seconds; a revoked key is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_unix: Option<u64>,
}

impl KeyRecord {
    /// True unless revoked.
    pub fn is_live(&self) -> bool {
        self.revoked_unix.is_none()
    }
}

/// The whole file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeysFile {
    /// Format version.
    pub version: u32,
    /// Tenants, in the order created.
    #[serde(default)]
    pub tenants: Vec<TenantRecord>,
    /// Keys, in the order created.
    #[serde(default)]
    pub keys: Vec<KeyRecord>,
}

impl Default for KeysFile {
    fn default() -> Self {
        KeysFile { version: FORMAT_VERSION, tenants: Vec::new(), keys: Vec::new() }
    }
}

/// What `keys add` returns: the key, to be shown once, and its record.
pub struct AddedKey {
    /// The key itself. Not `Debug` anywhere, so it cannot reach a log by accident.
    pub secret: String,
    /// What was stored.
    pub record: KeyRecord,
}

fn now_unix() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

fn valid_tenant_name(name: &str) -> bool {
    (1..=64).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

impl KeysFile {
    /// Reads the file; a missing file is an empty one.
    pub fn load(path: &Path) -> Result<KeysFile, KeysFileError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(KeysFile::default()),
            Err(source) => return Err(KeysFileError::Io { path: path.to_path_buf(), source }),
        };
        let file: KeysFile = serde_json::from_str(&text)
            .map_err(|e| KeysFileError::Format { path: path.to_path_buf(), reason: e.to_string() })?;
        if file.version != FORMAT_VERSION {
            return Err(KeysFileError::Format {
                path: path.to_path_buf(),
                reason: format!("format version {} (this build reads {FORMAT_VERSION})", file.version),
            });
        }
        Ok(file)
    }

    /// Writes the file atomically: a reader (the running server) sees the old or the new
    /// file, never half of one.
    pub fn save(&self, path: &Path) -> Result<(), KeysFileError> {
        let io = |source| KeysFileError::Io { path: path.to_path_buf(), source };
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&dir).map_err(io)?;
        let json = serde_json::to_vec_pretty(self)
            .map_err(|e| KeysFileError::Format { path: path.to_path_buf(), reason: e.to_string() })?;
        // tempfile creates the file readable by its owner only (0600), as a file of hashes should be.
        let mut temp = tempfile::NamedTempFile::new_in(&dir).map_err(io)?;
        temp.write_all(&json).map_err(io)?;
        temp.write_all(b"\n").map_err(io)?;
        temp.as_file().sync_all().map_err(io)?;
        temp.persist(path).map_err(|e| io(e.error))?;
        if let Ok(dir) = std::fs::File::open(&dir) {
            // Makes the rename itself durable; not every platform can fsync a directory.
            let _ = dir.sync_all();
        }
        Ok(())
    }

    /// The id of a tenant, assigning the next free one to a new name.
    pub fn tenant_id(&mut self, name: &str) -> Result<TenantId, KeysFileError> {
        if !valid_tenant_name(name) {
            return Err(KeysFileError::BadTenantName(name.to_string()));
        }
        if let Some(tenant) = self.tenants.iter().find(|t| t.name == name) {
            return Ok(TenantId(tenant.id));
        }
        let id = if name == DEFAULT_TENANT {
            TenantId::DEFAULT.0
        } else {
            let highest = self.tenants.iter().map(|t| t.id).max().unwrap_or(0);
            let next = highest.checked_add(1).ok_or(KeysFileError::TenantsExhausted)?;
            if next == TenantId::RESERVED.0 {
                return Err(KeysFileError::TenantsExhausted);
            }
            next
        };
        self.tenants.push(TenantRecord { name: name.to_string(), id, limits: TenantLimits::default() });
        Ok(TenantId(id))
    }

    /// The tenant of that name, if it exists.
    pub fn tenant(&self, name: &str) -> Option<&TenantRecord> {
        self.tenants.iter().find(|t| t.name == name)
    }

    /// Creates a key for `tenant` (created if new) with `scopes`.
    pub fn add_key(&mut self, tenant: &str, scopes: &[Scope]) -> Result<AddedKey, KeysFileError> {
        let mut scopes = scopes.to_vec();
        scopes.sort();
        scopes.dedup();
        if scopes.is_empty() {
            return Err(KeysFileError::NoScopes);
        }
        self.tenant_id(tenant)?;
        let new = secret::generate()?;
        let mut id = secret::new_key_id()?;
        while self.keys.iter().any(|k| k.id == id) {
            id = secret::new_key_id()?;
        }
        let record = KeyRecord {
            id,
            tenant: tenant.to_string(),
            scopes,
            hash: new.hash.to_hex(),
            created_unix: now_unix(),
            revoked_unix: None,
        };
        self.keys.push(record.clone());
        Ok(AddedKey { secret: new.secret, record })
    }

    /// Revokes a key by id; revoking twice keeps the first time.
    pub fn revoke(&mut self, id: &str) -> Result<&KeyRecord, KeysFileError> {
        let key = self.keys.iter_mut().find(|k| k.id == id).ok_or_else(|| KeysFileError::UnknownKey(id.to_string()))?;
        key.revoked_unix.get_or_insert_with(now_unix);
        Ok(key)
    }

    /// Sets a tenant's rate limits (created if new).
    pub fn set_limits(&mut self, tenant: &str, limits: TenantLimits) -> Result<(), KeysFileError> {
        self.tenant_id(tenant)?;
        if let Some(record) = self.tenants.iter_mut().find(|t| t.name == tenant) {
            record.limits = limits;
        }
        Ok(())
    }

    /// True when at least one key is live: the server then requires keys.
    pub fn has_live_keys(&self) -> bool {
        self.keys.iter().any(KeyRecord::is_live)
    }

    /// The hash of a record, if well formed.
    pub fn hash_of(record: &KeyRecord) -> Option<KeyHash> {
        KeyHash::from_hex(&record.hash)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_file_reads_as_empty() {
        let dir = tempfile::tempdir().unwrap();
        let file = KeysFile::load(&dir.path().join("keys.json")).unwrap();
        assert!(file.keys.is_empty() && !file.has_live_keys());
    }

    #[test]
    fn saved_file_holds_the_hash_and_never_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys.json");
        let mut file = KeysFile::default();
        let added = file.add_key("acme", &[Scope::Ingest, Scope::Read]).unwrap();
        file.save(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains(&added.secret));
        assert!(text.contains(&added.record.hash));
        assert_eq!(KeysFile::load(&path).unwrap(), file);
    }

    #[cfg(unix)]
    #[test]
    fn saved_file_is_readable_by_its_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys.json");
        KeysFile::default().save(&path).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o077, 0);
    }

    #[test]
    fn tenants_get_distinct_ids_and_keep_them() {
        let mut file = KeysFile::default();
        let a = file.tenant_id("a").unwrap();
        let b = file.tenant_id("b").unwrap();
        assert_ne!(a, b);
        assert_ne!(a, TenantId::DEFAULT);
        assert_eq!(file.tenant_id("a").unwrap(), a);
    }

    #[test]
    fn the_default_tenant_name_maps_to_the_default_tenant_id() {
        let mut file = KeysFile::default();
        file.tenant_id("a").unwrap();
        assert_eq!(file.tenant_id(DEFAULT_TENANT).unwrap(), TenantId::DEFAULT);
    }

    #[test]
    fn bad_tenant_names_are_refused() {
        let mut file = KeysFile::default();
        assert!(matches!(file.tenant_id(""), Err(KeysFileError::BadTenantName(_))));
        assert!(matches!(file.tenant_id("a b"), Err(KeysFileError::BadTenantName(_))));
    }

    #[test]
    fn a_key_needs_a_scope() {
        assert!(matches!(KeysFile::default().add_key("a", &[]), Err(KeysFileError::NoScopes)));
    }

    #[test]
    fn revoking_marks_the_key_and_leaves_no_live_key() {
        let mut file = KeysFile::default();
        let id = file.add_key("a", &[Scope::Read]).unwrap().record.id;
        file.revoke(&id).unwrap();
        assert!(!file.has_live_keys());
        assert!(matches!(file.revoke("key_nope"), Err(KeysFileError::UnknownKey(_))));
    }

    #[test]
    fn a_file_of_another_version_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys.json");
        std::fs::write(&path, r#"{"version": 99}"#).unwrap();
        assert!(matches!(KeysFile::load(&path), Err(KeysFileError::Format { .. })));
    }
}

//! The gate every request passes: which key it carries, which tenant that key belongs to,
//! whether it holds the scope the route needs, and whether its tenant is within its rate.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use tracehound_store::TenantId;

use crate::error::{AuthError, KeysFileError};
use crate::keys_file::KeysFile;
use crate::rate_limit::{Limits, RateLimited, RateLimiter};
use crate::scope::Scope;
use crate::secret::{bearer_token, KeyHash};

/// Who is asking: the key's id, its tenant and scopes. Holds no key material.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The key's public id; `None` when the server runs without keys.
    pub key_id: Option<String>,
    /// The tenant everything this request writes or reads belongs to.
    pub tenant: TenantId,
    /// What the key may do.
    pub scopes: Vec<Scope>,
    /// The tenant's ingest rate limits.
    pub limits: Limits,
}

impl Principal {
    /// Ok when the key holds `scope`.
    pub fn require(&self, scope: Scope) -> Result<(), AuthError> {
        if self.scopes.contains(&scope) {
            Ok(())
        } else {
            Err(AuthError::Forbidden(scope))
        }
    }
}

struct KnownKey {
    hash: KeyHash,
    principal: Principal,
}

/// File identity used to notice `keys add|revoke` while the server runs.
type Stamp = Option<(SystemTime, u64)>;

struct Loaded {
    stamp: Stamp,
    keys: Arc<Vec<KnownKey>>,
}

struct Inner {
    path: Option<PathBuf>,
    enforcing: bool,
    defaults: Limits,
    loaded: Mutex<Loaded>,
    limiter: RateLimiter,
}

/// The gate. Cheap to clone; clones share keys and rate-limit buckets.
#[derive(Clone)]
pub struct Gate {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Gate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gate").field("enforcing", &self.inner.enforcing).finish_non_exhaustive()
    }
}

fn stamp_of(path: &Path) -> Stamp {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

fn compile(file: &KeysFile, defaults: Limits) -> Vec<KnownKey> {
    let mut keys = Vec::new();
    for record in file.keys.iter().filter(|k| k.is_live()) {
        let (Some(hash), Some(tenant)) = (KeysFile::hash_of(record), file.tenant(&record.tenant)) else {
            tracing::warn!(key_id = %record.id, "keys file entry has a malformed hash or unknown tenant; ignored");
            continue;
        };
        let limits = Limits {
            bytes_per_sec: tenant.limits.max_bytes_per_sec.or(defaults.bytes_per_sec),
            spans_per_sec: tenant.limits.max_spans_per_sec.or(defaults.spans_per_sec),
        };
        let principal = Principal {
            key_id: Some(record.id.clone()),
            tenant: TenantId(tenant.id),
            scopes: record.scopes.clone(),
            limits,
        };
        keys.push(KnownKey { hash, principal });
    }
    keys
}

impl Gate {
    /// A gate without keys: every request is the default tenant with every scope.
    pub fn open(defaults: Limits) -> Gate {
        Gate::build(None, false, defaults, Vec::new(), None)
    }

    /// A gate reading `path`. It requires keys when the file holds a live key at start-up;
    /// later changes to the file (keys added or revoked) apply to the next request.
    pub fn from_keys_file(path: &Path, defaults: Limits) -> Result<Gate, KeysFileError> {
        let stamp = stamp_of(path);
        let file = KeysFile::load(path)?;
        let enforcing = file.has_live_keys();
        Ok(Gate::build(Some(path.to_path_buf()), enforcing, defaults, compile(&file, defaults), stamp))
    }

    fn build(path: Option<PathBuf>, enforcing: bool, defaults: Limits, keys: Vec<KnownKey>, stamp: Stamp) -> Gate {
        Gate {
            inner: Arc::new(Inner {
                path,
                enforcing,
                defaults,
                loaded: Mutex::new(Loaded { stamp, keys: Arc::new(keys) }),
                limiter: RateLimiter::default(),
            }),
        }
    }

    /// True when requests must carry a key.
    pub fn is_enforcing(&self) -> bool {
        self.inner.enforcing
    }

    /// The principal of a request without keys: the default tenant, every scope.
    fn anonymous(&self) -> Principal {
        Principal {
            key_id: None,
            tenant: TenantId::DEFAULT,
            scopes: vec![Scope::Ingest, Scope::Read, Scope::Admin],
            limits: self.inner.defaults,
        }
    }

    fn current_keys(&self) -> Arc<Vec<KnownKey>> {
        let mut loaded = self.inner.loaded.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(path) = &self.inner.path {
            let stamp = stamp_of(path);
            if stamp != loaded.stamp {
                // Fails closed: a keys file that became unreadable admits no key, never everyone.
                let keys = match KeysFile::load(path) {
                    Ok(file) => compile(&file, self.inner.defaults),
                    Err(e) => {
                        tracing::error!(error = %e, "cannot reload the keys file; refusing every key until it is fixed");
                        Vec::new()
                    }
                };
                *loaded = Loaded { stamp, keys: Arc::new(keys) };
            }
        }
        loaded.keys.clone()
    }

    /// Who presents `token` (a key), or why they are refused.
    pub fn authenticate(&self, token: Option<&str>) -> Result<Principal, AuthError> {
        if !self.inner.enforcing {
            return Ok(self.anonymous());
        }
        let token = token.ok_or(AuthError::Missing)?;
        let presented = KeyHash::of(token);
        let keys = self.current_keys();
        // Every key is compared, each in constant time, so the answer's timing says nothing
        // of which key (if any) came close.
        let mut found = None;
        for key in keys.iter() {
            if key.hash.ct_eq(&presented) {
                found = Some(&key.principal);
            }
        }
        found.cloned().ok_or(AuthError::Invalid)
    }

    /// Who sends this `authorization` header value, holding `scope`, or why not.
    pub fn authorize(&self, authorization: Option<&str>, scope: Scope) -> Result<Principal, AuthError> {
        if !self.inner.enforcing {
            return Ok(self.anonymous());
        }
        let header = authorization.ok_or(AuthError::Missing)?;
        let token = bearer_token(header).ok_or(AuthError::Malformed)?;
        let principal = self.authenticate(Some(token))?;
        principal.require(scope)?;
        Ok(principal)
    }

    /// Admits an export of `bytes` and `spans` within the principal's tenant rate.
    pub fn admit(&self, principal: &Principal, bytes: u64, spans: u64) -> Result<(), RateLimited> {
        self.inner.limiter.admit(principal.tenant, principal.limits, bytes, spans)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys_file::TenantLimits;

    fn gate_with(file: &KeysFile) -> (tempfile::TempDir, PathBuf, Gate) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys.json");
        file.save(&path).unwrap();
        let gate = Gate::from_keys_file(&path, Limits::default()).unwrap();
        (dir, path, gate)
    }

    #[test]
    fn without_keys_everyone_is_the_default_tenant() {
        let gate = Gate::open(Limits::default());
        let who = gate.authorize(None, Scope::Admin).unwrap();
        assert_eq!(who.tenant, TenantId::DEFAULT);
        assert!(!gate.is_enforcing());
    }

    #[test]
    fn a_keys_file_without_live_keys_does_not_enforce() {
        let (_dir, _path, gate) = gate_with(&KeysFile::default());
        assert!(!gate.is_enforcing());
    }

    #[test]
    fn a_missing_key_is_unauthenticated() {
        let mut file = KeysFile::default();
        file.add_key("acme", &[Scope::Read]).unwrap();
        let (_dir, _path, gate) = gate_with(&file);
        assert_eq!(gate.authorize(None, Scope::Read), Err(AuthError::Missing));
        assert_eq!(gate.authorize(Some("Basic abc"), Scope::Read), Err(AuthError::Malformed));
        assert_eq!(gate.authorize(Some("Bearer th_wrong"), Scope::Read), Err(AuthError::Invalid));
    }

    #[test]
    fn a_valid_key_yields_its_tenant() {
        let mut file = KeysFile::default();
        let key = file.add_key("acme", &[Scope::Read]).unwrap();
        let (_dir, _path, gate) = gate_with(&file);
        let who = gate.authorize(Some(&format!("Bearer {}", key.secret)), Scope::Read).unwrap();
        assert_eq!(who.tenant, TenantId(file.tenant("acme").unwrap().id));
        assert_eq!(who.key_id.as_deref(), Some(key.record.id.as_str()));
    }

    #[test]
    fn a_key_without_the_scope_is_forbidden() {
        let mut file = KeysFile::default();
        let key = file.add_key("acme", &[Scope::Ingest]).unwrap();
        let (_dir, _path, gate) = gate_with(&file);
        let refused = gate.authorize(Some(&format!("Bearer {}", key.secret)), Scope::Read).unwrap_err();
        assert_eq!(refused, AuthError::Forbidden(Scope::Read));
        assert!(!refused.is_unauthenticated());
    }

    #[test]
    fn a_key_revoked_while_running_is_refused_at_once() {
        let mut file = KeysFile::default();
        let keep = file.add_key("acme", &[Scope::Read]).unwrap();
        let gone = file.add_key("acme", &[Scope::Read]).unwrap();
        let (_dir, path, gate) = gate_with(&file);
        assert!(gate.authenticate(Some(&gone.secret)).is_ok());
        file.revoke(&gone.record.id).unwrap();
        file.save(&path).unwrap();
        assert_eq!(gate.authenticate(Some(&gone.secret)), Err(AuthError::Invalid));
        assert!(gate.authenticate(Some(&keep.secret)).is_ok());
    }

    #[test]
    fn a_keys_file_that_turns_unreadable_admits_no_one() {
        let mut file = KeysFile::default();
        let key = file.add_key("acme", &[Scope::Read]).unwrap();
        let (_dir, path, gate) = gate_with(&file);
        std::fs::write(&path, "not json at all").unwrap();
        assert_eq!(gate.authenticate(Some(&key.secret)), Err(AuthError::Invalid));
        std::fs::remove_file(&path).unwrap();
        assert_eq!(gate.authenticate(None), Err(AuthError::Missing));
    }

    #[test]
    fn tenant_limits_from_the_file_override_the_defaults() {
        let mut file = KeysFile::default();
        let key = file.add_key("acme", &[Scope::Ingest]).unwrap();
        file.set_limits("acme", TenantLimits { max_bytes_per_sec: None, max_spans_per_sec: Some(5) }).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys.json");
        file.save(&path).unwrap();
        let defaults = Limits { bytes_per_sec: Some(1_000_000), spans_per_sec: Some(1_000) };
        let gate = Gate::from_keys_file(&path, defaults).unwrap();
        let who = gate.authenticate(Some(&key.secret)).unwrap();
        assert_eq!(who.limits, Limits { bytes_per_sec: Some(1_000_000), spans_per_sec: Some(5) });
        assert!(gate.admit(&who, 10, 6).is_ok());
        assert!(gate.admit(&who, 10, 1).is_err());
    }
}

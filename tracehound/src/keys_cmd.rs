//! `tracehound keys add|list|revoke|limit`: manages the keys file the server reads.
//!
//! A server that requires keys reads changes to the file on the next request, so a key
//! added or revoked here takes effect at once without a restart.

use std::path::PathBuf;

use anyhow::Context;
use tracehound_auth::{KeysFile, Scope, TenantLimits};

/// Where the keys file is: `--keys-file`, or `keys.json` in the data directory.
#[derive(clap::Args, Debug, Clone)]
pub struct KeysFileArgs {
    /// The keys file (default: keys.json in --data-dir).
    #[arg(long, env = "TRACEHOUND_KEYS_FILE", global = true)]
    keys_file: Option<PathBuf>,
    /// The server's data directory, for the default keys file.
    #[arg(long, env = "TRACEHOUND_DATA_DIR", default_value = "./tracehound-data", global = true)]
    data_dir: PathBuf,
}

impl KeysFileArgs {
    /// The keys file's path.
    pub fn path(&self) -> PathBuf {
        keys_file_path(self.keys_file.as_ref(), &self.data_dir)
    }
}

/// `--keys-file`, else `keys.json` in the data directory (shared with `serve`).
pub fn keys_file_path(keys_file: Option<&PathBuf>, data_dir: &std::path::Path) -> PathBuf {
    keys_file.cloned().unwrap_or_else(|| data_dir.join("keys.json"))
}

/// `tracehound keys`.
#[derive(clap::Args, Debug)]
pub struct KeysArgs {
    #[command(flatten)]
    file: KeysFileArgs,
    #[command(subcommand)]
    command: KeysCommand,
}

#[derive(clap::Subcommand, Debug)]
enum KeysCommand {
    /// Create a key and print it alone on standard output (it is shown only this once).
    Add {
        /// The tenant the key belongs to (created if new; `default` is where data lands without keys).
        #[arg(long)]
        tenant: String,
        /// What the key may do: ingest, read, admin (repeat for several).
        #[arg(long = "scope", required = true)]
        scopes: Vec<Scope>,
    },
    /// List keys: id, tenant, scopes, created, revoked (never the key or its hash).
    List,
    /// Revoke a key by id; a running server refuses it from the next request on.
    Revoke {
        /// The key's id (`key_…`, from `keys list`).
        id: String,
    },
    /// Set a tenant's ingest rate limits (omitted: the server's defaults).
    Limit {
        /// The tenant.
        #[arg(long)]
        tenant: String,
        /// Export bytes per second.
        #[arg(long)]
        max_bytes_per_sec: Option<u64>,
        /// Spans and log records per second.
        #[arg(long)]
        max_spans_per_sec: Option<u64>,
    },
}

fn rfc3339(unix_secs: u64) -> String {
    i64::try_from(unix_secs)
        .ok()
        .and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok())
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_else(|| unix_secs.to_string())
}

/// Runs a `keys` subcommand.
pub fn run(args: KeysArgs) -> anyhow::Result<()> {
    let path = args.file.path();
    let mut file = KeysFile::load(&path)?;
    match args.command {
        KeysCommand::Add { tenant, scopes } => {
            let added = file.add_key(&tenant, &scopes)?;
            file.save(&path)?;
            let scopes: Vec<&str> = added.record.scopes.iter().map(|s| s.as_str()).collect();
            eprintln!(
                "created {} for tenant {} ({}) in {}; the key is shown only once",
                added.record.id,
                added.record.tenant,
                scopes.join(", "),
                path.display()
            );
            println!("{}", added.secret);
        }
        KeysCommand::List => {
            println!("{:<18} {:<20} {:<20} {:<22} REVOKED", "ID", "TENANT", "SCOPES", "CREATED");
            for key in &file.keys {
                let scopes: Vec<&str> = key.scopes.iter().map(|s| s.as_str()).collect();
                let revoked = key.revoked_unix.map(rfc3339).unwrap_or_else(|| "-".into());
                println!(
                    "{:<18} {:<20} {:<20} {:<22} {revoked}",
                    key.id,
                    key.tenant,
                    scopes.join(","),
                    rfc3339(key.created_unix)
                );
            }
        }
        KeysCommand::Revoke { id } => {
            let revoked = file.revoke(&id)?.id.clone();
            file.save(&path)?;
            eprintln!("revoked {revoked}");
        }
        KeysCommand::Limit { tenant, max_bytes_per_sec, max_spans_per_sec } => {
            file.set_limits(&tenant, TenantLimits { max_bytes_per_sec, max_spans_per_sec })
                .with_context(|| format!("cannot set the limits of tenant {tenant:?}"))?;
            file.save(&path)?;
            eprintln!("set the ingest limits of tenant {tenant}");
        }
    }
    Ok(())
}

//! `tracehound serve`: wires the store, the writer, the receivers and the API together,
//! and shuts them down in order.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::tls::{serve_router, ServerTls};
use tracehound_auth::rate_limit::Limits;
use tracehound_auth::Gate;
use tracehound_collector::expiry::Expiry;
use tracehound_collector::grpc_listener;
use tracehound_collector::ingest::Ingest;
use tracehound_collector::otlp_grpc::{Logs, OtlpGrpc, Traces};
use tracehound_collector::otlp_http::{self, HttpLimits};
use tracehound_normalize::redact::{RedactConfig, Redactor};
use tracehound_normalize::NormalizeConfig;
use tracehound_store::retention::RetentionPolicy;
use tracehound_store::search::{Indexer, IndexerConfig, SearchIndex};
use tracehound_store::writer::{Writer, WriterConfig};
use tracehound_store::Store;

/// Flags of `tracehound serve`; each has a `TRACEHOUND_…` environment twin.
#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// Directory holding the store.
    #[arg(long, env = "TRACEHOUND_DATA_DIR", default_value = "./tracehound-data")]
    data_dir: PathBuf,
    /// OTLP/gRPC listen address.
    #[arg(long, env = "TRACEHOUND_OTLP_GRPC_ADDR", default_value = "127.0.0.1:4317")]
    otlp_grpc_addr: SocketAddr,
    /// OTLP/HTTP listen address.
    #[arg(long, env = "TRACEHOUND_OTLP_HTTP_ADDR", default_value = "127.0.0.1:4318")]
    otlp_http_addr: SocketAddr,
    /// Query API (and readiness) listen address.
    #[arg(long, env = "TRACEHOUND_API_ADDR", default_value = "127.0.0.1:4320")]
    api_addr: SocketAddr,
    /// Largest OTLP/HTTP body accepted as sent, in bytes (413 above).
    #[arg(long, env = "TRACEHOUND_MAX_BODY_BYTES", default_value_t = 16 * 1024 * 1024)]
    max_body_bytes: usize,
    /// Largest export accepted after decompression, in bytes (HTTP 413, gRPC RESOURCE_EXHAUSTED
    /// above); also bounds a gRPC message as sent.
    #[arg(long, env = "TRACEHOUND_MAX_DECOMPRESSED_BYTES", default_value_t = 64 * 1024 * 1024)]
    max_decompressed_bytes: usize,
    /// Longest attribute value stored whole, in bytes; longer ones are stored cut, with a marker.
    #[arg(long, env = "TRACEHOUND_MAX_VALUE_BYTES", default_value_t = 1024 * 1024)]
    max_value_bytes: usize,
    /// A span (or log record) with more attributes is rejected, reported in `partial_success`.
    #[arg(long, env = "TRACEHOUND_MAX_ATTRIBUTES_PER_SPAN", default_value_t = 10_000)]
    max_attributes_per_span: usize,
    /// A span with more events is rejected.
    #[arg(long, env = "TRACEHOUND_MAX_EVENTS_PER_SPAN", default_value_t = 1_000)]
    max_events_per_span: usize,
    /// A span with more links is rejected.
    #[arg(long, env = "TRACEHOUND_MAX_LINKS_PER_SPAN", default_value_t = 1_000)]
    max_links_per_span: usize,
    /// Data timed further ahead of the server clock than this many seconds is rejected.
    #[arg(long, env = "TRACEHOUND_MAX_FUTURE_SKEW_SECS", default_value_t = 86_400)]
    max_future_skew_secs: u64,
    /// Memory budget of exports in flight (decoded, waiting to be durable), in bytes; beyond
    /// it senders are told to retry (gRPC UNAVAILABLE, HTTP 503 with Retry-After).
    #[arg(long, env = "TRACEHOUND_MAX_INFLIGHT_BYTES", default_value_t = tracehound_collector::ingest::DEFAULT_INFLIGHT_BYTES)]
    max_inflight_bytes: usize,
    /// Free space kept on the data directory's filesystem: below it, exports are refused
    /// (retryably) until space returns, so a full disk never damages the store.
    #[arg(long, env = "TRACEHOUND_MIN_FREE_DISK_BYTES", default_value_t = 64 * 1024 * 1024)]
    min_free_disk_bytes: u64,
    /// Export batches waiting for the writer at most; beyond, senders are told to retry.
    #[arg(long, env = "TRACEHOUND_QUEUE_CAPACITY", default_value_t = 256)]
    queue_capacity: usize,
    /// Requests that started more than this many days ago are deleted, and refused when they
    /// arrive unless a hold keeps them (0: kept by age forever).
    #[arg(long, env = "TRACEHOUND_RETENTION_DAYS", default_value_t = 14)]
    retention_days: u64,
    /// While the store and index exceed this many bytes, the oldest requests are deleted
    /// (0: unlimited). Held requests are never deleted.
    #[arg(long, env = "TRACEHOUND_DISK_BUDGET_BYTES", default_value_t = 0)]
    disk_budget_bytes: u64,
    /// Seconds between retention passes (one also runs at start-up).
    #[arg(long, env = "TRACEHOUND_RETENTION_INTERVAL_SECS", default_value_t = 3_600)]
    retention_interval_secs: u64,
    /// Seconds between search index commits: new data becomes searchable within about this.
    #[arg(long, env = "TRACEHOUND_INDEX_COMMIT_INTERVAL_SECS", default_value_t = 1.0)]
    index_commit_interval_secs: f64,
    /// Attribute keys naming the request id, first match wins (comma-separated).
    #[arg(long, env = "TRACEHOUND_REQUEST_ID_KEYS", value_delimiter = ',')]
    request_id_keys: Vec<String>,
    /// Extra attribute keys naming the prompt version, tried after the built-in ones.
    #[arg(long, env = "TRACEHOUND_PROMPT_VERSION_KEYS", value_delimiter = ',')]
    prompt_version_keys: Vec<String>,
    /// Extra attribute keys naming the retrieval index version.
    #[arg(long, env = "TRACEHOUND_INDEX_VERSION_KEYS", value_delimiter = ',')]
    index_version_keys: Vec<String>,
    /// Extra attribute keys naming the tool schema version.
    #[arg(long, env = "TRACEHOUND_TOOL_SCHEMA_VERSION_KEYS", value_delimiter = ',')]
    tool_schema_version_keys: Vec<String>,
    /// API keys file (`tracehound keys add`); default keys.json in --data-dir. With a live key
    /// in it, every OTLP export and API call must carry `authorization: Bearer <key>`.
    #[arg(long, env = "TRACEHOUND_KEYS_FILE")]
    keys_file: Option<PathBuf>,
    /// Serve without keys on non-loopback addresses (otherwise refused: anyone could read).
    #[arg(long, env = "TRACEHOUND_INSECURE_NO_AUTH")]
    insecure_no_auth: bool,
    /// Default ingest limit per tenant, in export bytes per second (unset: unlimited);
    /// `tracehound keys limit` overrides it per tenant.
    #[arg(long, env = "TRACEHOUND_TENANT_MAX_BYTES_PER_SEC")]
    tenant_max_bytes_per_sec: Option<u64>,
    /// Default ingest limit per tenant, in spans and log records per second (unset: unlimited).
    #[arg(long, env = "TRACEHOUND_TENANT_MAX_SPANS_PER_SEC")]
    tenant_max_spans_per_sec: Option<u64>,
    /// PEM certificate chain served by all three listeners (with --tls-key).
    #[arg(long, env = "TRACEHOUND_TLS_CERT")]
    tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long, env = "TRACEHOUND_TLS_KEY")]
    tls_key: Option<PathBuf>,
    /// Redact at ingest with every built-in detector (email, bearer, api_key, card, ipv6, ipv4, phone).
    #[arg(long, env = "TRACEHOUND_REDACT")]
    redact: bool,
    /// Redact at ingest with these built-in detectors only (comma-separated; `ip` = both families).
    #[arg(long, env = "TRACEHOUND_REDACT_DETECTORS", value_delimiter = ',')]
    redact_detectors: Vec<String>,
    /// A redaction rule NAME=REGEX (repeatable); matches become `[REDACTED:NAME]`.
    #[arg(long = "redact-rule", env = "TRACEHOUND_REDACT_RULE")]
    redact_rules: Vec<String>,
    /// A price table (JSON: `{"date", "models": {"gpt-4o": {"input", "output", "cached_input"}}}`,
    /// USD per million tokens) in place of the built-in one.
    #[arg(long, env = "TRACEHOUND_PRICES")]
    prices: Option<PathBuf>,
    /// Alert rules (TOML: `evaluation_interval`, `[[rules]]` with `name`, `metric`, `by`,
    /// `window`, `baseline`, `ratio`, `min_increase`, `min_requests`, `for`, ...) in place of
    /// the built-in set.
    #[arg(long, env = "TRACEHOUND_ALERT_RULES")]
    alert_rules: Option<PathBuf>,
    /// A webhook that gets alert notifications as generic JSON (repeatable).
    #[arg(long = "alert-webhook", env = "TRACEHOUND_ALERT_WEBHOOK", value_delimiter = ',')]
    alert_webhooks: Vec<String>,
    /// A Slack incoming-webhook URL for alert notifications (repeatable).
    #[arg(long = "alert-slack-webhook", env = "TRACEHOUND_ALERT_SLACK_WEBHOOK", value_delimiter = ',')]
    alert_slack_webhooks: Vec<String>,
    /// An Alertmanager's base URL; alerts are posted to its `/api/v2/alerts` (repeatable).
    #[arg(long = "alertmanager-url", env = "TRACEHOUND_ALERTMANAGER_URL", value_delimiter = ',')]
    alertmanager_urls: Vec<String>,
    /// The server's address as people open it, for the triage links in notifications.
    /// Default: the API address.
    #[arg(long, env = "TRACEHOUND_PUBLIC_URL")]
    public_url: Option<String>,
    #[command(flatten)]
    evals: crate::online_eval::EvalArgs,
}

impl ServeArgs {
    fn normalize_config(&self) -> NormalizeConfig {
        let mut config = NormalizeConfig {
            max_value_bytes: self.max_value_bytes,
            max_attributes_per_span: self.max_attributes_per_span,
            max_events_per_span: self.max_events_per_span,
            max_links_per_span: self.max_links_per_span,
            max_future_skew_secs: self.max_future_skew_secs,
            ..NormalizeConfig::default()
        };
        if !self.request_id_keys.is_empty() {
            config.request_id_keys = self.request_id_keys.clone();
        }
        config.prompt_version_keys.extend(self.prompt_version_keys.iter().cloned());
        config.index_version_keys.extend(self.index_version_keys.iter().cloned());
        config.tool_schema_version_keys.extend(self.tool_schema_version_keys.iter().cloned());
        config
    }
}

/// The rules file's rules, else the built-in set; a file that cannot be used stops the
/// start-up with what is wrong in it.
fn load_alert_rules(path: Option<&std::path::Path>) -> anyhow::Result<tracehound_query::monitor::rules::RuleSet> {
    let Some(path) = path else { return Ok(tracehound_query::monitor::rules::RuleSet::defaults()) };
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read --alert-rules {}", path.display()))?;
    let rules = tracehound_query::monitor::rules::RuleSet::from_toml(&text, &path.display().to_string())
        .with_context(|| format!("cannot use --alert-rules {}", path.display()))?;
    tracing::info!(rules = rules.rules.len(), "alert rules from {}", path.display());
    Ok(rules)
}

/// The receivers of alert notifications, from the flags; a URL that cannot be used stops
/// the start-up naming its flag.
fn alert_receivers(args: &ServeArgs) -> anyhow::Result<Vec<tracehound_alerts::Receiver>> {
    use tracehound_alerts::{Receiver, ReceiverKind};
    let mut receivers = Vec::new();
    for (kind, flag, urls) in [
        (ReceiverKind::Webhook, "--alert-webhook", &args.alert_webhooks),
        (ReceiverKind::Slack, "--alert-slack-webhook", &args.alert_slack_webhooks),
        (ReceiverKind::Alertmanager, "--alertmanager-url", &args.alertmanager_urls),
    ] {
        for url in urls.iter().filter(|u| !u.trim().is_empty()) {
            receivers.push(Receiver::new(kind, url, flag)?);
        }
    }
    Ok(receivers)
}

/// The log filter when `TRACEHOUND_LOG` is not set.
const DEFAULT_LOG_FILTER: &str = "info,fjall=warn,lsm_tree=warn";

/// Runs the server until SIGTERM or Ctrl-C.
pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    // fjall and lsm_tree log every journal recovery and ingestion writer at info: dozens of
    // lines on each start before the one that matters, so by default they speak at warn.
    let filter = tracing_subscriber::EnvFilter::try_from_env("TRACEHOUND_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(DEFAULT_LOG_FILTER));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        // Colour codes only for a terminal: a log redirected to a file stays plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .init();
    tracehound_api::metrics::install()?;
    tracehound_collector::self_metrics::describe();
    tracehound_store::store::describe_metrics();
    tracehound_normalize::redact::describe_metrics();
    tracehound_alerts::engine::describe_metrics();
    tracehound_evals::describe_metrics();
    tracehound_alerts::rollups::describe_metrics();
    if let Some(path) = &args.prices {
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read --prices {}", path.display()))?;
        let table = tracehound_query::cost::PriceTable::from_json(&text)
            .with_context(|| format!("cannot use --prices {}", path.display()))?;
        tracing::info!(date = %table.date, models = table.models.len(), "prices from {}", path.display());
        tracehound_query::cost::install(table);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(serve(args))
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    // Configuration errors first, before the store is touched.
    let redact_config = RedactConfig::from_flags(args.redact, &args.redact_detectors, &args.redact_rules)?;
    let redactor = Redactor::new(&redact_config)?;
    if let Some(redactor) = &redactor {
        tracing::info!(rules = ?redactor.rule_names(), "redacting at ingest");
    }
    let tls = ServerTls::load(args.tls_cert.as_deref(), args.tls_key.as_deref()).await?;
    let gate = open_gate(&args)?;
    let alert_rules = Arc::new(load_alert_rules(args.alert_rules.as_deref())?);
    let receivers = alert_receivers(&args)?;
    let eval_config = args.evals.config()?;
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("cannot create data directory {}", args.data_dir.display()))?;
    let store =
        Store::open(&args.data_dir).with_context(|| format!("cannot open the store in {}", args.data_dir.display()))?;
    let index_dir = args.data_dir.join("index");
    let search = SearchIndex::open(&index_dir)
        .with_context(|| format!("cannot open the search index in {}", index_dir.display()))?;
    let interval = std::time::Duration::try_from_secs_f64(args.index_commit_interval_secs)
        .context("--index-commit-interval-secs must be a positive number")?;
    // Catches up with whatever the store committed while no indexer ran (a crash, say).
    let indexer = Indexer::start(store.clone(), search.clone(), IndexerConfig { commit_interval: interval })?;
    let max_age =
        (args.retention_days > 0).then(|| std::time::Duration::from_secs(args.retention_days.saturating_mul(86_400)));
    let retention = RetentionPolicy {
        max_age,
        disk_budget_bytes: (args.disk_budget_bytes > 0).then_some(args.disk_budget_bytes),
        interval: std::time::Duration::from_secs(args.retention_interval_secs.max(1)),
        index_dir: Some(index_dir.clone()),
    };
    let (writer, writer_thread) = Writer::start_with_retention(
        store.clone(),
        WriterConfig {
            queue_capacity: args.queue_capacity,
            min_free_disk_bytes: args.min_free_disk_bytes,
            ..WriterConfig::default()
        },
        Some(retention),
    )?;
    let api_writer = writer.clone();
    let eval_writer = writer.clone();
    let ingest = Ingest::new(writer, args.normalize_config())
        .with_gate(gate.clone())
        .with_memory_budget(args.max_inflight_bytes)
        .with_redactor(redactor)
        .with_expiry(max_age.map(|age| Expiry::new(age, store.clone())));

    let bind = |addr: SocketAddr, what: &'static str| async move {
        TcpListener::bind(addr).await.with_context(|| format!("cannot listen for {what} on {addr}"))
    };
    let grpc_listener = bind(args.otlp_grpc_addr, "OTLP/gRPC").await?;
    let http_listener = bind(args.otlp_http_addr, "OTLP/HTTP").await?;
    let api_listener = bind(args.api_addr, "the API").await?;

    let (stop_tx, stop_rx) = watch::channel(false);
    let stopped = |mut rx: watch::Receiver<bool>| async move {
        // An error means the sender is gone, which also means stop.
        let _ = rx.wait_for(|stop| *stop).await;
    };

    let mut grpc_builder = tonic::transport::Server::builder();
    if let Some(tls) = &tls {
        grpc_builder = grpc_builder.tls_config(tls.grpc()).context("cannot set up TLS for OTLP/gRPC")?;
    }
    let grpc = grpc_builder
        .add_service(OtlpGrpc::<Traces>::new(ingest.clone(), args.max_decompressed_bytes))
        .add_service(OtlpGrpc::<Logs>::new(ingest.clone(), args.max_decompressed_bytes))
        .serve_with_incoming_shutdown(
            grpc_listener::incoming(grpc_listener, stop_rx.clone()),
            stopped(stop_rx.clone()),
        );
    let limits =
        HttpLimits { max_body_bytes: args.max_body_bytes, max_decompressed_bytes: args.max_decompressed_bytes };
    let http =
        serve_router(http_listener, otlp_http::router(ingest.clone(), limits), tls.clone(), stopped(stop_rx.clone()));
    let ready = Arc::new(AtomicBool::new(false));
    let alert_board = tracehound_query::monitor::live::AlertBoard::new(&alert_rules.source, true);
    let scheme = if tls.is_some() { "https" } else { "http" };
    let alert_engine = tracehound_alerts::AlertEngine::open(
        store.clone(),
        tracehound_alerts::EngineConfig {
            rules: alert_rules.clone(),
            receivers,
            public_url: args.public_url.clone().unwrap_or_else(|| format!("{scheme}://{}", args.api_addr)),
            state_file: tracehound_alerts::StateFile::new(args.data_dir.join("alerts").join("state.json")),
            board: alert_board.clone(),
            timeout: std::time::Duration::from_secs(10),
        },
    )
    .context("cannot open the alert state")?;
    let eval_board = tracehound_query::evals::status::EvalBoard::default();
    let eval_engine = tracehound_evals::EvalEngine::new(store.clone(), eval_writer, eval_config, eval_board.clone());
    let api_state = tracehound_api::ApiState {
        store: store.clone(),
        ready: ready.clone(),
        search: Some(search),
        writer: Some(api_writer),
        alert_rules: alert_rules.clone(),
        alerts: alert_board.clone(),
        evals: eval_board,
    };
    let access = tracehound_api::AccessState { gate: gate.clone(), store: store.clone(), cookie_secure: tls.is_some() };
    let api_router = tracehound_api::secure(tracehound_api::router(api_state), access.clone());
    // The MCP tools call the guarded router in-process, as the caller: each call is checked
    // and audited as the API call it is.
    let mcp = tracehound_mcp::transport::http_service(Arc::new(crate::mcp::RouterSource::new(api_router.clone())));
    let mcp_routes = axum::Router::new().nest_service(tracehound_api::access::MCP_PATH, mcp);
    let api_router = api_router.merge(tracehound_api::guarded(mcp_routes, access));
    let api = serve_router(api_listener, api_router, tls.clone(), stopped(stop_rx.clone()));

    let grpc_task = tokio::spawn(grpc);
    let http_task = tokio::spawn(http);
    let api_task = tokio::spawn(api);
    // Alerts read what ingest stored, on tasks of their own: never on the ingest path.
    let alerts_task = tokio::spawn(alert_engine.run(stop_rx.clone()));
    // The quality series' per-minute aggregates, kept as the writer commits.
    let rollups_task = tokio::spawn(tracehound_alerts::rollups::run(store.clone(), stop_rx.clone()));
    // Online evaluation follows what the writer committed, off the ingest path too.
    let evals_task = tokio::spawn(eval_engine.run(stop_rx.clone()));
    ready.store(true, Ordering::SeqCst);
    tracing::info!(
        otlp_grpc = %args.otlp_grpc_addr,
        otlp_http = %args.otlp_http_addr,
        api = %args.api_addr,
        data_dir = %args.data_dir.display(),
        tls = tls.is_some(),
        "tracehound is ready"
    );
    // Where to point a browser and an SDK, in words a new user can paste.
    tracing::info!("web UI          {scheme}://{}/", args.api_addr);
    tracing::info!("OTLP/gRPC       {scheme}://{}", args.otlp_grpc_addr);
    tracing::info!("OTLP/HTTP       {scheme}://{}/v1/traces", args.otlp_http_addr);

    shutdown_signal().await;
    tracing::info!("shutting down: no new exports, finishing those in flight");
    ready.store(false, Ordering::SeqCst);
    let _ = stop_tx.send(true);
    grpc_task.await?.context("OTLP/gRPC server failed")?;
    http_task.await?.context("OTLP/HTTP server failed")?;
    api_task.await?.context("API server failed")?;
    alerts_task.await?;
    rollups_task.await?;
    // Its writer handle goes with it, before the writer thread is joined.
    evals_task.await?;
    // The receivers are gone, so the last writer handle goes with `ingest`; the thread
    // then drains what is queued and stops.
    drop(ingest);
    tokio::task::spawn_blocking(move || writer_thread.join()).await?;
    // Last, so the index holds everything the writer committed.
    tokio::task::spawn_blocking(move || indexer.stop()).await?;
    tracing::info!("stopped cleanly");
    Ok(())
}

/// Loads the keys and applies the secure default: without keys, serve only on loopback
/// unless `--insecure-no-auth`.
fn open_gate(args: &ServeArgs) -> anyhow::Result<Gate> {
    let path = crate::keys_cmd::keys_file_path(args.keys_file.as_ref(), &args.data_dir);
    let defaults =
        Limits { bytes_per_sec: args.tenant_max_bytes_per_sec, spans_per_sec: args.tenant_max_spans_per_sec };
    let gate = Gate::from_keys_file(&path, defaults)
        .with_context(|| format!("cannot read the keys file {}", path.display()))?;
    if gate.is_enforcing() {
        tracing::info!(keys_file = %path.display(), "API keys required on OTLP and the API");
        return Ok(gate);
    }
    let addrs = [args.otlp_grpc_addr, args.otlp_http_addr, args.api_addr];
    let exposed: Vec<String> = addrs.iter().filter(|a| !a.ip().is_loopback()).map(|a| a.to_string()).collect();
    if exposed.is_empty() {
        tracing::warn!(
            keys_file = %path.display(),
            "no API keys configured: serving without authentication, only because every listener is on loopback"
        );
    } else if args.insecure_no_auth {
        tracing::warn!(
            listeners = %exposed.join(", "),
            "no API keys configured and --insecure-no-auth given: anyone who can reach these addresses can read and write"
        );
    } else {
        anyhow::bail!(
            "refusing to listen on {} without API keys: anyone could read the stored prompts. \
             Create a key (`tracehound keys add --tenant NAME --scope ingest --scope read --keys-file {}`), \
             listen on 127.0.0.1 only, or pass --insecure-no-auth",
            exposed.join(", "),
            path.display()
        );
    }
    Ok(gate)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

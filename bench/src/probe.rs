//! The query side, measured from a client: how soon acknowledged spans become searchable,
//! lookup and full-text latency (client-side, and server-side from `Server-Timing`), and the
//! server's own counters.

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde::Serialize;
use serde_json::Value;

use crate::stats::Latency;

/// Polls the search API for a marker word until a request holding it is found.
#[derive(Clone)]
pub struct SearchProbe {
    client: reqwest::Client,
    api_addr: String,
    deadline: Duration,
}

/// How often a probe asks; the resolution of the time-to-searchable figure.
const POLL: Duration = Duration::from_millis(50);

impl SearchProbe {
    /// A probe against the API at `api_addr` that gives up after `deadline`.
    pub fn new(api_addr: &str, deadline: Duration) -> SearchProbe {
        SearchProbe { client: reqwest::Client::new(), api_addr: api_addr.to_string(), deadline }
    }

    /// Starts polling for `marker`; the task answers the time from `acked` until it was
    /// found, or `None` when the deadline passed first.
    pub fn spawn(&self, marker: String, acked: Instant) -> tokio::task::JoinHandle<Option<Duration>> {
        let probe = self.clone();
        tokio::spawn(async move {
            let url = format!("http://{}/api/v1/search", probe.api_addr);
            while acked.elapsed() < probe.deadline {
                let answer = probe.client.get(&url).query(&[("q", marker.as_str()), ("limit", "1")]).send().await;
                if let Ok(response) = answer {
                    if let Ok(body) = response.json::<Value>().await {
                        if body["total"].as_u64().unwrap_or(0) > 0 {
                            return Some(acked.elapsed());
                        }
                    }
                }
                tokio::time::sleep(POLL).await;
            }
            None
        })
    }
}

/// A blocking client of the query API.
pub struct Api {
    client: reqwest::blocking::Client,
    base: String,
}

/// One timed API call.
pub struct Timed {
    /// HTTP status.
    pub status: u16,
    /// Parsed JSON body.
    pub body: Value,
    /// Client-side time, send to body read.
    pub client: Duration,
    /// Server-side time from `Server-Timing: app;dur=`, when present.
    pub server_ms: Option<f64>,
}

impl Api {
    /// A client of the API at `api_addr`.
    pub fn new(api_addr: &str) -> anyhow::Result<Api> {
        let client = reqwest::blocking::Client::builder().timeout(Duration::from_secs(120)).build()?;
        Ok(Api { client, base: format!("http://{api_addr}") })
    }

    /// GETs `path` with `query` parameters and times it.
    pub fn get(&self, path: &str, query: &[(&str, &str)]) -> anyhow::Result<Timed> {
        let started = Instant::now();
        let response = self.client.get(format!("{}{path}", self.base)).query(query).send()?;
        let status = response.status().as_u16();
        let server_ms = response
            .headers()
            .get("server-timing")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split("dur=").nth(1))
            .and_then(|v| v.split([';', ',']).next())
            .and_then(|v| v.trim().parse().ok());
        let bytes = response.bytes()?;
        let client = started.elapsed();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Ok(Timed { status, body, client, server_ms })
    }

    /// `/api/v1/stats`.
    pub fn stats(&self) -> anyhow::Result<Value> {
        let answer = self.get("/api/v1/stats", &[])?;
        if answer.status != 200 {
            bail!("stats answered {}", answer.status);
        }
        Ok(answer.body)
    }

    /// Searches `q` and answers `total`.
    pub fn search_total(&self, q: &str) -> anyhow::Result<u64> {
        let answer = self.get("/api/v1/search", &[("q", q), ("limit", "1")])?;
        if answer.status != 200 {
            bail!("search {q:?} answered {}: {}", answer.status, answer.body);
        }
        answer.body["total"].as_u64().context("search answer without total")
    }

    /// The server's write-group step times from `/metrics` (its summaries cover about the
    /// last minute): per step (`stage`, `apply`, `fsync`), median and p99 in ms.
    pub fn write_group_steps(&self) -> anyhow::Result<Vec<WriteGroupStep>> {
        let text = self.client.get(format!("{}/metrics", self.base)).send()?.text()?;
        Ok(parse_write_group_steps(&text))
    }

    /// Waits until the index has committed every change the store has; answers the wait.
    pub fn wait_caught_up(&self, timeout: Duration) -> anyhow::Result<Duration> {
        let started = Instant::now();
        loop {
            let index = &self.stats()?["index"];
            let (store_seq, index_seq) = (index["store_seq"].as_u64(), index["index_seq"].as_u64());
            if store_seq.is_some() && index_seq >= store_seq {
                return Ok(started.elapsed());
            }
            if started.elapsed() > timeout {
                bail!("index still behind after {timeout:?}: {index}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits until every stored request is in the search index (each trace holds one LLM
    /// span, so `kind:llm` counts indexed requests); answers the wait.
    pub fn wait_indexed(&self, timeout: Duration) -> anyhow::Result<Duration> {
        let started = Instant::now();
        loop {
            let stored = self.stats()?["requests"].as_u64().unwrap_or(0);
            let indexed = self.search_total("kind:llm")?;
            if indexed >= stored {
                return Ok(started.elapsed());
            }
            if started.elapsed() > timeout {
                bail!("index still behind after {timeout:?}: {indexed} of {stored} requests");
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    }
}

/// Client- and server-side latency of one kind of call.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CallLatency {
    /// What was called.
    pub name: String,
    /// Measured by the client on loopback (includes HTTP and JSON transfer).
    pub client: Latency,
    /// From `Server-Timing` (routing and handler).
    pub server: Latency,
    /// Answers that were not 200.
    pub failures: u64,
    /// Mean number of matches (`total`) for searches; 0 for lookups.
    pub mean_total: f64,
}

/// Calls each `(path, query)` in turn and summarizes their latency as `name`.
pub fn measure(api: &Api, name: &str, calls: &[(String, Vec<(String, String)>)]) -> anyhow::Result<CallLatency> {
    let mut client = Vec::with_capacity(calls.len());
    let mut server = Vec::with_capacity(calls.len());
    let mut failures = 0;
    let mut totals = 0u64;
    for (path, query) in calls {
        let query: Vec<(&str, &str)> = query.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let answer = api.get(path, &query)?;
        if answer.status != 200 {
            failures += 1;
            continue;
        }
        totals += answer.body["total"].as_u64().unwrap_or(0);
        client.push(answer.client);
        server.extend(answer.server_ms);
    }
    Ok(CallLatency {
        name: name.to_string(),
        client: Latency::of(&client),
        server: Latency::of_millis(&mut server),
        failures,
        mean_total: totals as f64 / calls.len().max(1) as f64,
    })
}

/// Median and p99 of one step of the server's write groups, ms.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct WriteGroupStep {
    /// `stage`, `apply` or `fsync`.
    pub step: String,
    /// Median, ms.
    pub median_ms: f64,
    /// 99th percentile, ms.
    pub p99_ms: f64,
}

/// Reads `tracehound_write_group_seconds{step="..",quantile=".."}` lines of a Prometheus text page.
fn parse_write_group_steps(text: &str) -> Vec<WriteGroupStep> {
    let mut steps: Vec<WriteGroupStep> = Vec::new();
    for line in text.lines().filter(|l| l.starts_with("tracehound_write_group_seconds{")) {
        let label = |name: &str| line.split(&format!("{name}=\"")).nth(1).and_then(|rest| rest.split('"').next());
        let (Some(step), Some(quantile)) = (label("step"), label("quantile")) else { continue };
        let Some(seconds) = line.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok()) else { continue };
        let index = match steps.iter().position(|s| s.step == step) {
            Some(i) => i,
            None => {
                steps.push(WriteGroupStep { step: step.to_string(), ..Default::default() });
                steps.len() - 1
            }
        };
        match quantile {
            "0.5" => steps[index].median_ms = seconds * 1000.0,
            "0.99" => steps[index].p99_ms = seconds * 1000.0,
            _ => {}
        }
    }
    steps
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_group_steps_are_read_from_the_metrics_page() {
        let page = "# TYPE tracehound_write_group_seconds summary\n\
            tracehound_write_group_seconds{step=\"fsync\",quantile=\"0.5\"} 0.004\n\
            tracehound_write_group_seconds{step=\"fsync\",quantile=\"0.99\"} 0.09\n\
            tracehound_write_group_seconds_sum{step=\"fsync\"} 1.5\n\
            tracehound_up 1\n";
        let steps = parse_write_group_steps(page);
        assert_eq!(steps.len(), 1);
        assert_eq!(steps[0].step, "fsync");
        assert!((steps[0].median_ms - 4.0).abs() < 1e-9 && (steps[0].p99_ms - 90.0).abs() < 1e-9);
    }
}

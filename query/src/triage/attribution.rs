//! Which changed value explains the shift: every candidate scored on the traffic around
//! the onset, explained away against stronger ones, then walked in the triage order.
//!
//! A **candidate** is a value of a dimension within a *scope* it replaces in: an index
//! version (all traffic), a tool schema version (its tool's calls), a deploy (its
//! service), a question language, new versus returning users, a slow tool, a served
//! model, a root or resource attribute. It has **changed** when it covers ≥ 5 requests
//! and either its share of *all* requests surged after the onset (≥ 2× and ≥ 2 points,
//! one-sided Fisher p < 0.01), or it is a new version (first seen after the window's first
//! [`WARM_UP_NANOS`], with an older value in its scope). Steady values are never
//! candidates, however often they fail.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use rustc_hash::FxHashMap;

use tracehound_store::model::VersionDimension;

use super::requests::Request;
use super::significance::{fisher_greater, holm};

/// Time after the window's start before a first sighting counts as new: anything live
/// before the window is first "seen" in its opening minutes.
pub const WARM_UP_NANOS: u64 = 10 * 60 * 1_000_000_000;
/// Significance every decision uses, after Holm's correction.
pub const ALPHA: f64 = 0.01;
/// Smallest risk ratio that counts as failing more.
pub const MIN_RISK_RATIO: f64 = 2.0;
/// Smallest share of the excess failures a cause must explain.
pub const MIN_EXCESS_SHARE: f64 = 0.3;
/// Fewest requests a candidate needs.
const MIN_REQUESTS: u64 = 5;
/// Fewest peers that make a within-window comparison.
const MIN_PEERS: u64 = 20;
/// A tool call is slow above this multiple of its tool's median before the onset.
const SLOW_FACTOR: f64 = 3.0;

/// The triage layers, in the order they are checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Layer {
    /// Retrieval, index, tools, deploys.
    Infra,
    /// The input: language, users, request attributes.
    Data,
    /// Prompt versions and instructions.
    Prompt,
    /// The model that answered.
    Model,
}

impl Layer {
    /// Every layer, in triage order.
    pub const ORDER: [Layer; 4] = [Layer::Infra, Layer::Data, Layer::Prompt, Layer::Model];

    /// The name in answers.
    pub fn as_str(self) -> &'static str {
        match self {
            Layer::Infra => "infra",
            Layer::Data => "data",
            Layer::Prompt => "prompt",
            Layer::Model => "model",
        }
    }
}

/// The layer a dimension belongs to, and its rank among its layer's dimensions (declared
/// versions before computed fingerprints, so that of two values carried by the same
/// requests the one a human named is reported).
pub fn layer_of(dimension: &str) -> (Layer, u8) {
    match dimension {
        "index_version" => (Layer::Infra, 0),
        "tool_schema_version" => (Layer::Infra, 1),
        "retrieval_component" => (Layer::Infra, 2),
        "service_version" => (Layer::Infra, 3),
        "deployment_environment" => (Layer::Infra, 4),
        "tool_latency" => (Layer::Infra, 5),
        "service" => (Layer::Infra, 6),
        "input_language" => (Layer::Data, 0),
        "user_cohort" => (Layer::Data, 1),
        "prompt_version" => (Layer::Prompt, 0),
        "prompt_name" => (Layer::Prompt, 1),
        "system_instructions_fingerprint" => (Layer::Prompt, 2),
        "tool_definitions_fingerprint" => (Layer::Prompt, 3),
        "response_model" => (Layer::Model, 0),
        "request_model" => (Layer::Model, 1),
        "system_fingerprint" => (Layer::Model, 2),
        d if d.starts_with("attribute:resource.") => (Layer::Infra, 7),
        _ => (Layer::Data, 2),
    }
}

/// A value within its scope.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Feature {
    /// Dimension name.
    pub dimension: String,
    /// What it replaces within: a tool, a service, or everything (empty).
    pub scope: String,
    /// The value.
    pub value: String,
}

/// Why a changed value is not the cause.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The cause.
    Cause,
    /// First seen after the onset's interval.
    AppearedAfterOnset,
    /// Rides along with the cause: same layer, same requests, same time.
    CoChangedWithCause,
    /// Significant only through the cause's requests.
    ExplainedByCause,
    /// No request carrying it failed.
    TouchesNoFailingRequest,
    /// Fails at its peers' rate.
    FailsNoMoreThanPeers,
    /// Significant on its own, but a layer checked earlier holds the cause.
    LaterInTriageOrder,
}

impl Verdict {
    /// The snake_case code in answers.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Cause => "cause",
            Verdict::AppearedAfterOnset => "appeared_after_onset",
            Verdict::CoChangedWithCause => "co_changed_with_cause",
            Verdict::ExplainedByCause => "explained_by_cause",
            Verdict::TouchesNoFailingRequest => "touches_no_failing_request",
            Verdict::FailsNoMoreThanPeers => "fails_no_more_than_peers",
            Verdict::LaterInTriageOrder => "later_in_triage_order",
        }
    }
}

/// One changed value, scored.
#[derive(Debug, Clone)]
pub struct Scored {
    /// The value's id in [`Features`].
    pub id: u32,
    /// The value.
    pub feature: Feature,
    /// Its layer.
    pub layer: Layer,
    /// First request carrying it (window or store history), Unix ns.
    pub first_seen: u64,
    /// Why it is a candidate: `new_version` or `surged`.
    pub change: &'static str,
    /// The value it replaced: its scope's most common other value before it appeared.
    pub previous: Option<String>,
    /// Requests / suspects carrying it before the onset.
    pub before: (u64, u64),
    /// Requests / suspects carrying it from the onset on.
    pub after: (u64, u64),
    /// The reference: requests / suspects, and what they are.
    pub reference: (u64, u64, &'static str),
    /// Risk ratio against the reference.
    pub risk_ratio: f64,
    /// One-sided Fisher p.
    pub p_value: f64,
    /// Holm-adjusted over all candidates.
    pub p_holm: f64,
    /// Share of the excess suspects it accounts for.
    pub excess_share: f64,
    /// Share of post-onset suspects carrying it.
    pub coverage: f64,
    /// Live well before the onset (from [`WARM_UP_NANOS`] before its interval) on enough
    /// requests, and failing then no more than the rest: whatever changed at the onset, not this.
    pub settled: bool,
    /// Whether it passes every test of a cause.
    pub explains: bool,
    /// The verdict.
    pub verdict: Verdict,
    /// The verdict's numbers, for a human.
    pub reason: String,
}

/// What the attribution needs of the onset.
#[derive(Debug, Clone, Copy)]
pub struct OnsetFrame {
    /// Index of the first request after the onset.
    pub split: usize,
    /// Onset time, Unix ns.
    pub at: u64,
    /// Lower bound of its interval, Unix ns.
    pub lower: u64,
    /// Upper bound of its interval, Unix ns.
    pub upper: u64,
    /// Width of its interval, ns.
    pub width: u64,
    /// Window start.
    pub window_start: u64,
}

/// Every request's features and scopes, interned: a window of 200,000 requests holds
/// millions of (dimension, scope, value) mentions and only hundreds of distinct ones.
pub struct Features {
    table: Vec<Feature>,
    index: FxHashMap<String, u32>,
    scope_index: FxHashMap<String, u32>,
    /// Per feature: the id of its scope.
    scope_of: Vec<u32>,
    /// Per request: its feature ids, sorted.
    pub of: Vec<Vec<u32>>,
    /// Per request: the scope ids it belongs to, sorted.
    pub scopes: Vec<Vec<u32>>,
    key: String,
}

impl Features {
    /// The feature with an id.
    pub fn get(&self, id: u32) -> &Feature {
        &self.table[id as usize]
    }

    /// The scope id of a feature.
    pub fn scope_of(&self, id: u32) -> u32 {
        self.scope_of[id as usize]
    }

    /// Scopes interned so far.
    pub fn scope_count(&self) -> usize {
        self.scope_index.len()
    }

    fn scope(&mut self, dimension: &str, scope: &str) -> u32 {
        self.key.clear();
        self.key.push_str(dimension);
        self.key.push('\0');
        self.key.push_str(scope);
        if let Some(id) = self.scope_index.get(self.key.as_str()) {
            return *id;
        }
        let id = self.scope_index.len() as u32;
        self.scope_index.insert(self.key.clone(), id);
        id
    }

    fn intern(&mut self, dimension: &str, scope: &str, value: &str) -> (u32, u32) {
        let scope_id = self.scope(dimension, scope);
        self.key.push('\0');
        self.key.push_str(value);
        if let Some(id) = self.index.get(self.key.as_str()) {
            return (*id, scope_id);
        }
        let id = self.table.len() as u32;
        self.index.insert(self.key.clone(), id);
        self.table.push(Feature { dimension: dimension.into(), scope: scope.into(), value: value.into() });
        self.scope_of.push(scope_id);
        (id, scope_id)
    }
}

/// Reads every request's candidate values, with the onset deciding "new user" and "slow".
pub fn features(requests: &[Request], frame: OnsetFrame) -> Features {
    let mut out = Features {
        table: Vec::new(),
        index: FxHashMap::default(),
        scope_index: FxHashMap::default(),
        scope_of: Vec::new(),
        of: Vec::with_capacity(requests.len()),
        scopes: Vec::with_capacity(requests.len()),
        key: String::new(),
    };
    let mut first_of_user: FxHashMap<&str, u64> = FxHashMap::default();
    for r in requests {
        if let Some(user) = &r.user {
            first_of_user.entry(user.as_str()).or_insert(r.start);
        }
    }
    let mut pre_durations: HashMap<&str, Vec<f64>> = HashMap::new();
    for r in &requests[..frame.split] {
        for t in r.tools.iter().filter(|t| !t.failed) {
            pre_durations.entry(t.name.as_str()).or_default().push(t.millis);
        }
    }
    let slow_above: HashMap<&str, f64> = pre_durations
        .into_iter()
        .filter(|(_, d)| d.len() >= 10)
        .map(|(name, mut d)| {
            d.sort_by(f64::total_cmp);
            (name, SLOW_FACTOR * d[d.len() / 2])
        })
        .collect();
    let mut attribute_key = String::new();
    for r in requests {
        let mut ids = Vec::new();
        let mut scopes = Vec::new();
        let add = |out: &mut Features,
                   ids: &mut Vec<u32>,
                   scopes: &mut Vec<u32>,
                   dimension: &str,
                   scope: &str,
                   value: &str| {
            let (id, scope_id) = out.intern(dimension, scope, value);
            ids.push(id);
            scopes.push(scope_id);
        };
        for (dim, values) in &r.versions {
            for value in values {
                let scope = match dim {
                    VersionDimension::ToolSchemaVersion => value.split_once('@').map_or("", |(tool, _)| tool),
                    VersionDimension::ServiceVersion => r.service.as_str(),
                    _ => "",
                };
                add(&mut out, &mut ids, &mut scopes, dim.as_str(), scope, value);
            }
        }
        add(&mut out, &mut ids, &mut scopes, "service", "", &r.service);
        if let Some(language) = &r.question_language {
            add(&mut out, &mut ids, &mut scopes, "input_language", "", language);
        }
        if let Some(user) = &r.user {
            let new = first_of_user.get(user.as_str()).is_some_and(|first| *first >= frame.at);
            if new {
                add(&mut out, &mut ids, &mut scopes, "user_cohort", "", "new");
            } else {
                let scope = out.scope("user_cohort", "");
                scopes.push(scope);
            }
        }
        for (key, value) in &r.attributes {
            attribute_key.clear();
            attribute_key.push_str("attribute:");
            attribute_key.push_str(key);
            add(&mut out, &mut ids, &mut scopes, &attribute_key, "", value);
        }
        for tool in &r.tools {
            let slow = !tool.failed && slow_above.get(tool.name.as_str()).is_some_and(|limit| tool.millis > *limit);
            if slow {
                add(&mut out, &mut ids, &mut scopes, "tool_latency", &tool.name, &tool.name);
            } else {
                let scope = out.scope("tool_latency", &tool.name);
                scopes.push(scope);
            }
        }
        ids.sort_unstable();
        ids.dedup();
        scopes.sort_unstable();
        scopes.dedup();
        out.of.push(ids);
        out.scopes.push(scopes);
    }
    out
}

#[derive(Default, Clone, Copy)]
struct Tally {
    n_pre: u64,
    f_pre: u64,
    n_post: u64,
    f_post: u64,
    first: u64,
}

/// Scores every changed candidate and names the cause, if one explains the shift.
pub fn attribute(
    requests: &[Request],
    features: &Features,
    frame: OnsetFrame,
    first_seen_ever: &HashMap<(String, String), u64>,
) -> Vec<Scored> {
    let split = frame.split;
    let (n_pre, f_pre) = count(&requests[..split]);
    let (n_post, f_post) = count(&requests[split..]);
    let p_pre = if n_pre > 0 { f_pre as f64 / n_pre as f64 } else { 0.0 };
    let excess = (f_post as f64 - n_post as f64 * p_pre).max(1.0);

    let empty = Tally { first: u64::MAX, ..Tally::default() };
    let mut tallies: Vec<Tally> = vec![empty; features.table.len()];
    let mut scope_tallies: Vec<Tally> = vec![empty; features.scope_count()];
    for (i, r) in requests.iter().enumerate() {
        let post = i >= split;
        for id in &features.of[i] {
            let t = &mut tallies[*id as usize];
            bump(t, post, r.suspect);
            t.first = t.first.min(r.start);
        }
        for scope in &features.scopes[i] {
            let t = &mut scope_tallies[*scope as usize];
            bump(t, post, r.suspect);
            t.first = t.first.min(r.start);
        }
    }

    // Values per scope, to find what a new value replaced.
    let mut values_in_scope: HashMap<u32, Vec<u32>> = HashMap::new();
    for id in 0..tallies.len() as u32 {
        values_in_scope.entry(features.scope_of(id)).or_default().push(id);
    }

    let mut scored: Vec<Scored> = Vec::new();
    for (id, t) in tallies.iter().enumerate() {
        let id = &(id as u32);
        let feature = features.get(*id);
        if t.n_pre + t.n_post < MIN_REQUESTS {
            continue;
        }
        let ever = first_seen_ever.get(&(feature.dimension.clone(), feature.value.clone())).copied();
        let first_seen = ever.map_or(t.first, |e| e.min(t.first));
        let scope_id = features.scope_of(*id);
        let peers: Vec<(u32, Tally)> = values_in_scope
            .get(&scope_id)
            .into_iter()
            .flatten()
            .filter(|other| *other != id)
            .map(|other| (*other, tallies[*other as usize]))
            .collect();
        // What it replaced: the older peer whose share fell most across the onset (a served
        // model replaces the old snapshot, not the embedding model beside it), else the
        // older peer most requests carried.
        let fall = |p: &Tally| {
            let before = if n_pre > 0 { p.n_pre as f64 / n_pre as f64 } else { 0.0 };
            let after = if n_post > 0 { p.n_post as f64 / n_post as f64 } else { 0.0 };
            before - after
        };
        let older_peers = || peers.iter().filter(|(_, p)| p.first < first_seen);
        let older = older_peers()
            .filter(|(_, p)| fall(p) > 0.0)
            .max_by(|a, b| fall(&a.1).total_cmp(&fall(&b.1)))
            .or_else(|| older_peers().max_by_key(|(_, p)| p.n_pre));
        let is_new_version = first_seen >= frame.window_start + WARM_UP_NANOS
            && (older.is_some() || feature.dimension == "user_cohort" || feature.dimension == "tool_latency");
        let share_pre = if n_pre > 0 { t.n_pre as f64 / n_pre as f64 } else { 0.0 };
        let share_post = if n_post > 0 { t.n_post as f64 / n_post as f64 } else { 0.0 };
        let surged = share_post >= 2.0 * share_pre
            && share_post - share_pre >= 0.02
            && fisher_greater(t.n_post, n_post, t.n_pre, n_pre) < ALPHA;
        let change = match (is_new_version, surged) {
            (true, _) => "new_version",
            (false, true) => "surged",
            _ => continue,
        };
        let scope = scope_tallies[scope_id as usize];
        let (n_peer, f_peer) = (scope.n_post.saturating_sub(t.n_post), scope.f_post.saturating_sub(t.f_post));
        let reference = if n_peer >= MIN_PEERS {
            (n_peer, f_peer, "its peers after the onset")
        } else if scope.n_pre >= MIN_PEERS {
            (scope.n_pre, scope.f_pre, "its scope before the onset")
        } else {
            (n_pre, f_pre, "all traffic before the onset")
        };
        let (risk_ratio, p_value) = test(t.n_post, t.f_post, reference.0, reference.1);
        let settled = first_seen.saturating_add(WARM_UP_NANOS) < frame.lower
            && t.n_pre >= MIN_PEERS
            && fisher_greater(t.f_pre, t.n_pre, f_pre - t.f_pre, n_pre - t.n_pre) >= ALPHA;
        let excess_share = ((t.f_post as f64 - t.n_post as f64 * p_pre) / excess).clamp(-1.0, 1.0);
        scored.push(Scored {
            id: *id,
            feature: feature.clone(),
            layer: layer_of(&feature.dimension).0,
            first_seen,
            change,
            previous: older.map(|(other, _)| features.get(*other).value.clone()),
            before: (t.n_pre, t.f_pre),
            after: (t.n_post, t.f_post),
            reference,
            risk_ratio,
            p_value,
            p_holm: 1.0,
            excess_share,
            coverage: if f_post > 0 { t.f_post as f64 / f_post as f64 } else { 0.0 },
            settled,
            explains: false,
            verdict: Verdict::FailsNoMoreThanPeers,
            reason: String::new(),
        });
    }
    scored.sort_by(|a, b| {
        a.layer
            .cmp(&b.layer)
            .then(a.p_value.total_cmp(&b.p_value))
            .then(layer_of(&a.feature.dimension).1.cmp(&layer_of(&b.feature.dimension).1))
            .then(a.feature.cmp(&b.feature))
    });
    let adjusted = holm(&scored.iter().map(|s| s.p_value).collect::<Vec<_>>());
    for (s, p) in scored.iter_mut().zip(adjusted) {
        s.p_holm = p;
        s.explains = s.p_holm < ALPHA
            && s.risk_ratio >= MIN_RISK_RATIO
            && s.excess_share >= MIN_EXCESS_SHARE
            && s.first_seen <= frame.upper
            && !s.settled;
    }
    let cause = choose_cause(requests, features, split, &scored);
    let cause = cause.map(|c| prefer_declared(requests, features, split, &scored, c));
    judge(requests, features, split, frame, &mut scored, cause);
    scored
}

/// The first candidate, in triage order, that passes and survives explaining-away against
/// stronger candidates of other layers.
fn choose_cause(requests: &[Request], features: &Features, split: usize, scored: &[Scored]) -> Option<usize> {
    let passing: Vec<usize> = (0..scored.len()).filter(|i| scored[*i].explains).collect();
    'candidates: for &i in &passing {
        for &j in &passing {
            let stronger = scored[j].p_value < scored[i].p_value && scored[j].layer != scored[i].layer;
            if stronger && !survives_without(requests, features, split, &scored[i], &scored[j]) {
                continue 'candidates;
            }
        }
        return Some(i);
    }
    None
}

/// Of a cause and a candidate of its layer carried by nearly the same requests, report the
/// one a human declared (a prompt version over a fingerprint of its text).
fn prefer_declared(requests: &[Request], features: &Features, split: usize, scored: &[Scored], cause: usize) -> usize {
    let rank = |s: &Scored| layer_of(&s.feature.dimension).1;
    (0..scored.len())
        .filter(|j| scored[*j].explains && scored[*j].layer == scored[cause].layer)
        .filter(|j| rank(&scored[*j]) < rank(&scored[cause]))
        .filter(|j| {
            overlap(requests, features, split, &scored[*j], &scored[cause]) >= 0.9
                && overlap(requests, features, split, &scored[cause], &scored[*j]) >= 0.9
        })
        .min_by_key(|j| rank(&scored[*j]))
        .unwrap_or(cause)
}

/// Gives every candidate its verdict and the numbers behind it.
fn judge(
    requests: &[Request],
    features: &Features,
    split: usize,
    frame: OnsetFrame,
    scored: &mut [Scored],
    cause: Option<usize>,
) {
    let cause_copy = cause.map(|c| scored[c].clone());
    let (n_pre_all, f_pre_all) = count(&requests[..split]);
    for (i, s) in scored.iter_mut().enumerate() {
        let numbers = format!(
            "{}/{} suspect after the onset vs {}/{} for {} (RR {:.2}, one-sided Fisher p_holm {:.2e}); {}/{} before the onset",
            s.after.1, s.after.0, s.reference.1, s.reference.0, s.reference.2, s.risk_ratio, s.p_holm, s.before.1, s.before.0
        );
        let passes = s.p_holm < ALPHA && s.risk_ratio >= MIN_RISK_RATIO;
        let (verdict, reason) = if Some(i) == cause {
            (
                Verdict::Cause,
                format!("{numbers}; explains {:.0}% of the excess suspects", s.excess_share.max(0.0) * 100.0),
            )
        } else if s.first_seen > frame.upper {
            (
                Verdict::AppearedAfterOnset,
                format!(
                    "first seen {} after the onset's interval ends ({}); {numbers}",
                    crate::timestamp::format_rfc3339(s.first_seen),
                    crate::timestamp::format_rfc3339(frame.upper)
                ),
            )
        } else if let Some(c) = cause_copy.as_ref().filter(|c| {
            c.layer == s.layer
                && overlap(requests, features, split, s, c) >= 0.9
                && s.first_seen.abs_diff(c.first_seen) <= frame.width.max(60_000_000_000)
        }) {
            (
                Verdict::CoChangedWithCause,
                format!(
                    "{:.0}% of its requests after the onset carry {}={}, first seen together; {numbers}",
                    overlap(requests, features, split, s, c) * 100.0,
                    c.feature.dimension,
                    c.feature.value
                ),
            )
        } else if s.before.1 + s.after.1 == 0 {
            (Verdict::TouchesNoFailingRequest, format!("none of its {} requests is suspect", s.before.0 + s.after.0))
        } else if s.settled {
            (
                Verdict::FailsNoMoreThanPeers,
                format!(
                    "live since {} and failing at the base rate before the onset ({}/{} suspect, peers {:.1}%); {numbers}",
                    crate::timestamp::format_rfc3339(s.first_seen),
                    s.before.1,
                    s.before.0,
                    100.0 * (f_pre_all - s.before.1) as f64 / (n_pre_all - s.before.0).max(1) as f64
                ),
            )
        } else if passes {
            match cause_copy.as_ref() {
                Some(c) if !survives_without(requests, features, split, s, c) => (
                    Verdict::ExplainedByCause,
                    format!(
                        "not significant once the requests carrying {}={} are set aside; {numbers}",
                        c.feature.dimension, c.feature.value
                    ),
                ),
                Some(_) => (Verdict::LaterInTriageOrder, format!("a layer checked earlier holds the cause; {numbers}")),
                None if s.first_seen > frame.upper => (Verdict::AppearedAfterOnset, numbers),
                None => (Verdict::FailsNoMoreThanPeers, format!("does not explain enough of the shift; {numbers}")),
            }
        } else {
            (Verdict::FailsNoMoreThanPeers, numbers)
        };
        s.verdict = verdict;
        s.reason = reason;
    }
}

/// Share of `a`'s post-onset requests that also carry `b`.
fn overlap(requests: &[Request], features: &Features, split: usize, a: &Scored, b: &Scored) -> f64 {
    let (mut with_a, mut both) = (0u64, 0u64);
    for i in split..requests.len() {
        let has = |s: &Scored| features.of[i].binary_search(&s.id).is_ok();
        if has(a) {
            with_a += 1;
            both += u64::from(has(b));
        }
    }
    if with_a == 0 {
        0.0
    } else {
        both as f64 / with_a as f64
    }
}

/// Whether `candidate` still fails more (p < α, RR ≥ 2) once every request carrying
/// `other` is set aside.
fn survives_without(
    requests: &[Request],
    features: &Features,
    split: usize,
    candidate: &Scored,
    other: &Scored,
) -> bool {
    let mut with = Tally::default();
    let mut scope = Tally::default();
    let scope_id = features.scope_of(candidate.id);
    for (i, r) in requests.iter().enumerate() {
        let has = |s: &Scored| features.of[i].binary_search(&s.id).is_ok();
        if has(other) {
            continue;
        }
        let post = i >= split;
        if has(candidate) {
            bump(&mut with, post, r.suspect);
        } else if features.scopes[i].binary_search(&scope_id).is_ok()
            || candidate.reference.2 == "all traffic before the onset"
        {
            bump(&mut scope, post, r.suspect);
        }
    }
    let (n_ref, f_ref) =
        if scope.n_post >= MIN_PEERS { (scope.n_post, scope.f_post) } else { (scope.n_pre, scope.f_pre) };
    let (rr, p) = test(with.n_post, with.f_post, n_ref, f_ref);
    p < ALPHA && rr >= MIN_RISK_RATIO
}

fn test(n: u64, f: u64, n_ref: u64, f_ref: u64) -> (f64, f64) {
    if n == 0 || n_ref == 0 {
        return (0.0, 1.0);
    }
    let rate = f as f64 / n as f64;
    // Half a failure keeps a reference that never failed from dividing by zero.
    let rate_ref = if f_ref == 0 { 0.5 / (n_ref as f64 + 1.0) } else { f_ref as f64 / n_ref as f64 };
    (rate / rate_ref, fisher_greater(f, n, f_ref, n_ref))
}

fn bump(t: &mut Tally, post: bool, suspect: bool) {
    if post {
        t.n_post += 1;
        t.f_post += u64::from(suspect);
    } else {
        t.n_pre += 1;
        t.f_pre += u64::from(suspect);
    }
}

fn count(requests: &[Request]) -> (u64, u64) {
    (requests.len() as u64, requests.iter().filter(|r| r.suspect).count() as u64)
}

/// Services among the post-onset suspect requests carrying a feature.
pub fn affected(
    requests: &[Request],
    features: &Features,
    split: usize,
    feature: u32,
) -> (u64, BTreeSet<String>, Vec<String>) {
    let mut count = 0;
    let mut services = BTreeSet::new();
    let mut examples = Vec::new();
    for (r, ids) in requests.iter().zip(&features.of).skip(split) {
        if r.suspect && ids.binary_search(&feature).is_ok() {
            count += 1;
            services.insert(r.service.clone());
            if examples.len() < 5 {
                examples.push(r.request_id.clone());
            }
        }
    }
    (count, services, examples)
}

/// Most common cues among the post-onset suspect requests carrying a feature.
pub fn cues_of(requests: &[Request], features: &Features, split: usize, feature: u32) -> BTreeMap<&'static str, u64> {
    let mut out = BTreeMap::new();
    for (r, ids) in requests.iter().zip(&features.of).skip(split) {
        if r.suspect && ids.binary_search(&feature).is_ok() {
            for cue in r.cue_names() {
                *out.entry(cue).or_default() += 1;
            }
        }
    }
    out
}

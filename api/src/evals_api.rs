//! Online evaluation over HTTP: `GET /api/v1/evals` (how it is set up and doing), backfill
//! runs (`/api/v1/evals/runs`), and leases for external scorers (`/api/v1/evals/leases`).
//! The router in `router.rs` mounts the handlers.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use tracehound_query::evals::leases::{self, CompleteInput, Lease, LeaseInput};
use tracehound_query::evals::runs::{self, RunInput, RunView};
use tracehound_query::evals::status::EvalStatus;
use tracehound_query::time_range::now_unix_nanos;
use tracehound_query::{ErrorBody, QueryError};
use utoipa::ToSchema;

use crate::error::ApiError;
use crate::state::{run_blocking, ApiJson, ApiPath, ApiState, Tenant};

/// Online evaluation: sampling, checks, judge and scorecard, the queue's backlog and lag,
/// calls and failures, and the judge's spend today against its budget. The queue's numbers
/// count every tenant's requests.
#[utoipa::path(
    get,
    path = "/api/v1/evals",
    responses((status = 200, description = "How online evaluation is set up and how it is doing", body = EvalStatus))
)]
pub async fn get_evals(State(state): State<ApiState>) -> Json<EvalStatus> {
    Json(state.evals.snapshot())
}

/// Scores stored history: the window's requests (filtered, sampled) are queued for the
/// evaluators named; the answer is the run, with its progress.
#[utoipa::path(
    post,
    path = "/api/v1/evals/runs",
    request_body = RunInput,
    responses(
        (status = 201, description = "The run, its requests queued (durable)", body = RunView),
        (status = 400, description = "The run cannot be read or is too large", body = ErrorBody)
    )
)]
pub async fn post_run(
    State(state): State<ApiState>,
    Tenant(tenant): Tenant,
    ApiJson(input): ApiJson<RunInput>,
) -> Result<(StatusCode, Json<RunView>), ApiError> {
    let status = state.evals.snapshot();
    let now = now_unix_nanos();
    let run = run_blocking(&state, move |store| runs::create_run(store, tenant, &input, &status, now)).await?;
    tracing::info!(id = %run.id, queued = run.queued, "evaluation run created");
    Ok((StatusCode::CREATED, Json(run)))
}

/// The tenant's runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RunList {
    /// Newest first.
    pub runs: Vec<RunView>,
}

/// The tenant's runs, newest first, each with its progress.
#[utoipa::path(get, path = "/api/v1/evals/runs", responses((status = 200, description = "The runs", body = RunList)))]
pub async fn list_runs(State(state): State<ApiState>, Tenant(tenant): Tenant) -> Result<Json<RunList>, ApiError> {
    let runs = run_blocking(&state, move |store| runs::list_runs(store, tenant)).await?;
    Ok(Json(RunList { runs }))
}

/// One run and its progress: queued, remaining, done, and its state.
#[utoipa::path(
    get,
    path = "/api/v1/evals/runs/{id}",
    params(("id" = String, Path, description = "The run's id")),
    responses(
        (status = 200, description = "The run", body = RunView),
        (status = 404, description = "No such run", body = ErrorBody)
    )
)]
pub async fn get_run(
    State(state): State<ApiState>,
    Tenant(tenant): Tenant,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<RunView>, ApiError> {
    Ok(Json(run_blocking(&state, move |store| runs::run_view(store, tenant, &id)).await?))
}

/// Cancels a run: what it has not evaluated leaves the queue; scores already stored stay.
#[utoipa::path(
    delete,
    path = "/api/v1/evals/runs/{id}",
    params(("id" = String, Path, description = "The run's id")),
    responses(
        (status = 200, description = "Cancelled; the run as it ended", body = RunView),
        (status = 404, description = "No such run", body = ErrorBody)
    )
)]
pub async fn delete_run(
    State(state): State<ApiState>,
    Tenant(tenant): Tenant,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<RunView>, ApiError> {
    let now = now_unix_nanos();
    let run = run_blocking(&state, move |store| runs::cancel_run(store, tenant, &id, now)).await?;
    tracing::info!(id = %run.id, "evaluation run cancelled");
    Ok(Json(run))
}

/// An external scorer takes sampled requests with their evidence, held for the lease's time.
#[utoipa::path(
    post,
    path = "/api/v1/evals/leases",
    request_body = LeaseInput,
    responses(
        (status = 200, description = "The lease and its requests (none when nothing waits)", body = Lease),
        (status = 400, description = "The lease cannot be read", body = ErrorBody)
    )
)]
pub async fn post_lease(
    State(state): State<ApiState>,
    Tenant(tenant): Tenant,
    ApiJson(input): ApiJson<LeaseInput>,
) -> Result<Json<Lease>, ApiError> {
    let now = now_unix_nanos();
    Ok(Json(run_blocking(&state, move |store| leases::take(store, tenant, &input, now)).await?))
}

/// What completing a lease stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Completed {
    /// Requests scored and taken out of the queue.
    pub completed: usize,
    /// Scores stored.
    pub scores: u64,
}

/// Completes a lease with the scorer's scores: they are stored and their requests leave the
/// queue in one durable write. Requests of the lease not named stay held until it expires.
#[utoipa::path(
    post,
    path = "/api/v1/evals/leases/{id}",
    params(("id" = String, Path, description = "The lease's id")),
    request_body = CompleteInput,
    responses(
        (status = 200, description = "Stored (fsync'd)", body = Completed),
        (status = 400, description = "The results cannot be read", body = ErrorBody),
        (status = 404, description = "A request is not held by this lease (or it expired)", body = ErrorBody)
    )
)]
pub async fn complete_lease(
    State(state): State<ApiState>,
    Tenant(tenant): Tenant,
    ApiPath(id): ApiPath<String>,
    ApiJson(input): ApiJson<CompleteInput>,
) -> Result<Json<Completed>, ApiError> {
    let writer = state.writer.clone().ok_or(ApiError(QueryError::WritesUnavailable))?;
    let now = now_unix_nanos();
    let batch = run_blocking(&state, move |store| leases::completion(store, tenant, &id, &input, now)).await?;
    let completed = batch.evals_done.len();
    let outcome = writer.write(batch).await.map_err(|e| ApiError(QueryError::Write(e)))?;
    Ok(Json(Completed { completed, scores: outcome.new_scores }))
}

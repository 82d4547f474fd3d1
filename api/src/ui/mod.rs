//! The web UI: HTML pages served from the API address that render the JSON API in the
//! browser, and the static assets they load, all built into the binary.
//!
//! Pages are fixed shells: no data is put into HTML on the server. The scripts read the id
//! or query from the URL, fetch the JSON API and build the page with DOM calls, so nothing
//! a sender stored can ever be read as markup.

pub mod assets;
pub mod headers;
pub mod pages;

use axum::routing::get;
use axum::Router;

/// The UI's routes: the pages at stable URLs, and `/assets/{name}`.
///
/// Stateless, so it merges into the API router whatever that router's state is.
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/", get(pages::home))
        .route("/r/{request_id}", get(pages::request))
        .route("/s/{session_id}", get(pages::session))
        .route("/search", get(pages::search))
        .route("/failing", get(pages::failing))
        .route("/versions", get(pages::versions))
        .route("/postmortem", get(pages::postmortem))
        .route("/triage", get(pages::triage))
        .route("/monitor", get(pages::monitor))
        .route("/assets/{name}", get(assets::serve))
}

#[cfg(test)]
mod tests;

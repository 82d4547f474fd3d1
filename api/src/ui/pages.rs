//! The page routes: each answers the same HTML shell, named for the page it is.

use axum::response::{IntoResponse, Response};

use crate::ui::headers::security_headers;

/// The shell every page shares; `{{page}}` and `{{title}}` are filled with fixed names only.
const SHELL: &str = include_str!("../../assets/page.html");

/// A page of the UI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    /// `/`: the id box and recent requests.
    Home,
    /// `/r/{request_id}`: one request.
    Request,
    /// `/s/{session_id}`: one session as a transcript.
    Session,
    /// `/search?q=`: search results.
    Search,
    /// `/failing`: failing examples.
    Failing,
    /// `/versions`: what changed.
    Versions,
    /// `/postmortem`: the postmortem bundle.
    Postmortem,
    /// `/triage`: the verdict beside the quality series.
    Triage,
    /// `/monitor`: quality series with version changes and alert firings.
    Monitor,
}

impl Page {
    /// The name the scripts dispatch on (`data-page` of `<body>`).
    pub fn name(self) -> &'static str {
        match self {
            Page::Home => "home",
            Page::Request => "request",
            Page::Session => "session",
            Page::Search => "search",
            Page::Failing => "failing",
            Page::Versions => "versions",
            Page::Postmortem => "postmortem",
            Page::Triage => "triage",
            Page::Monitor => "monitor",
        }
    }

    /// The document title until the script sets a more precise one.
    pub fn title(self) -> &'static str {
        match self {
            Page::Home => "Tracehound",
            Page::Request => "Request · Tracehound",
            Page::Session => "Session · Tracehound",
            Page::Search => "Search · Tracehound",
            Page::Failing => "Failing examples · Tracehound",
            Page::Versions => "What changed · Tracehound",
            Page::Postmortem => "Postmortem · Tracehound",
            Page::Triage => "Triage · Tracehound",
            Page::Monitor => "Monitor · Tracehound",
        }
    }

    /// The page's HTML.
    pub fn html(self) -> String {
        SHELL.replace("{{page}}", self.name()).replace("{{title}}", self.title())
    }
}

fn answer(page: Page) -> Response {
    (security_headers("text/html; charset=utf-8"), page.html()).into_response()
}

/// `GET /`.
pub async fn home() -> Response {
    answer(Page::Home)
}

/// `GET /r/{request_id}`; the script reads the id from the URL.
pub async fn request() -> Response {
    answer(Page::Request)
}

/// `GET /s/{session_id}`; the script reads the id from the URL.
pub async fn session() -> Response {
    answer(Page::Session)
}

/// `GET /search`.
pub async fn search() -> Response {
    answer(Page::Search)
}

/// `GET /failing`.
pub async fn failing() -> Response {
    answer(Page::Failing)
}

/// `GET /versions`.
pub async fn versions() -> Response {
    answer(Page::Versions)
}

/// `GET /postmortem`.
pub async fn postmortem() -> Response {
    answer(Page::Postmortem)
}

/// `GET /triage`.
pub async fn triage() -> Response {
    answer(Page::Triage)
}

/// `GET /monitor`.
pub async fn monitor() -> Response {
    answer(Page::Monitor)
}

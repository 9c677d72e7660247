//! The web dashboard: a few static pages and assets, compiled into the
//! binary, that read and drive the JSON API (docs/api.md) from the browser.
//!
//! Every page is the same shell; the scripts fetch `/api/…` and render.
//! Nothing here reads the store: the dashboard can do what the API can and
//! no more. The pages go through the same token and CSRF guard as the API,
//! and every answer carries a strict Content-Security-Policy (scripts,
//! styles and connections from this server only, no inline code, no
//! frames), so a run's description or log cannot run script in the page.

use axum::extract::{Path as UrlPath, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use std::sync::Arc;

use super::{api, guard, Server};

/// The policy every dashboard answer carries.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// One compiled-in asset: its URL path, content type and bytes.
struct Asset {
    path: &'static str,
    content_type: &'static str,
    body: &'static str,
}

const ASSETS: &[Asset] = &[
    Asset {
        path: "dashboard.css",
        content_type: "text/css; charset=utf-8",
        body: include_str!("../../assets/dashboard/dashboard.css"),
    },
    Asset {
        path: "common.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../../assets/dashboard/common.js"),
    },
    Asset {
        path: "runs.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../../assets/dashboard/runs.js"),
    },
    Asset {
        path: "login.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../../assets/dashboard/login.js"),
    },
    Asset {
        path: "run.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../../assets/dashboard/run.js"),
    },
];

const RUNS_PAGE: &str = include_str!("../../assets/dashboard/runs.html");
const RUN_PAGE: &str = include_str!("../../assets/dashboard/run.html");
const LOGIN_PAGE: &str = include_str!("../../assets/dashboard/login.html");

/// The dashboard's routes: `/` (the runs), `/runs/{id}` (one run),
/// `/login` (the token, once, for a session cookie) and `/assets/{name}`,
/// behind the token and CSRF guard (which leaves `/login` and the assets
/// open).
pub fn router(server: Arc<Server>) -> Router {
    Router::new()
        .route("/", get(|| async { page(RUNS_PAGE) }))
        .route("/runs/{id}", get(run_page))
        .route("/login", get(|| async { page(LOGIN_PAGE) }))
        .route("/assets/{name}", get(asset))
        .layer(axum::middleware::from_fn_with_state(
            server.clone(),
            guard::check,
        ))
        .with_state(server)
}

/// An answer with the dashboard's headers: its type, the policy, no
/// sniffing, no referrer, and revalidation (a new binary brings new assets).
fn answer(content_type: &'static str, body: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_TYPE, content_type),
        (header::CONTENT_SECURITY_POLICY, CSP),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::CACHE_CONTROL, "no-cache"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

fn page(html: &'static str) -> Response {
    answer("text/html; charset=utf-8", html)
}

/// The run page; the script reads the id from the URL. A malformed id is a
/// 400 here rather than a page that cannot load.
async fn run_page(UrlPath(id): UrlPath<String>) -> Response {
    if !api::valid_id(&id) {
        return api::error(StatusCode::BAD_REQUEST, format!("`{id}` is not a run id"));
    }
    page(RUN_PAGE)
}

async fn asset(State(_): State<Arc<Server>>, UrlPath(name): UrlPath<String>) -> Response {
    match ASSETS.iter().find(|a| a.path == name) {
        Some(a) => answer(a.content_type, a.body),
        None => api::error(StatusCode::NOT_FOUND, format!("no asset `{name}`")),
    }
}

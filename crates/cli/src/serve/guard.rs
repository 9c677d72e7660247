//! Who may ask what: the token and CSRF rules, applied to every request.
//!
//! - With a token (`--token-file`, required off loopback), every request
//!   brings `Authorization: Bearer TOKEN` or the dashboard's session
//!   cookie, else 401 (a dashboard page: a redirect to `/login`). The
//!   login page, its assets and `POST /api/login` are open: a browser
//!   cannot add the header itself, so `/login` takes the token once and
//!   sets the cookie [`COOKIE`] (`HttpOnly`, `SameSite=Strict`, as
//!   Jupyter's login does). Its value is derived from the token
//!   ([`session_value`]), so the token itself is not kept by the browser;
//!   a new token ends every session.
//! - A mutating request (any method but GET/HEAD) must say
//!   `Content-Type: application/json` (415 otherwise): a page of another
//!   site cannot send that without a CORS preflight, which this server
//!   never grants. And if it names an `Origin`, that origin must be this
//!   server's own (`http://` + its `Host`), and `Sec-Fetch-Site`, when
//!   given, must not be `cross-site` (403 otherwise). The cookie being
//!   `SameSite=Strict`, another site's page does not even send it.

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Json;
use sha2::{Digest, Sha256};
use std::sync::Arc;

use super::api::error;
use super::Server;

/// The dashboard's session cookie.
pub const COOKIE: &str = "flow_session";

/// The session cookie's value for `token`: hex SHA-256 of a fixed label and
/// the token (a browser keeps this, not the token).
pub fn session_value(token: &str) -> String {
    let digest = Sha256::digest(format!("flow serve dashboard session\n{token}").as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Paths open without the token: the login page and what it needs.
fn open(req: &Request) -> bool {
    let path = req.uri().path();
    (req.method() == Method::GET && (path == "/login" || path.starts_with("/assets/")))
        || (req.method() == Method::POST && path == "/api/login")
}

/// Whether the request brings the token or a session cookie of it.
fn authorized(req: &Request, token: &str) -> bool {
    let headers = req.headers();
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if bearer.is_some_and(|g| same(g.as_bytes(), token.as_bytes())) {
        return true;
    }
    let session = session_value(token);
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .any(|(name, value)| name == COOKIE && same(value.as_bytes(), session.as_bytes()))
}

/// The middleware (see the module docs).
pub async fn check(State(server): State<Arc<Server>>, req: Request, next: Next) -> Response {
    if let Some(token) = &server.token {
        if !open(&req) && !authorized(&req, token) {
            let path = req.uri().path();
            if req.method() == Method::GET && !path.starts_with("/api/") {
                return Redirect::to("/login").into_response();
            }
            return error(
                StatusCode::UNAUTHORIZED,
                "this server needs `Authorization: Bearer TOKEN` (a browser: log in at /login)",
            );
        }
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        if let Some(why) = cross_site(&req) {
            return error(StatusCode::FORBIDDEN, why);
        }
        let json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.split(';')
                    .next()
                    .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
            });
        if !json {
            return error(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "a request that changes something must be `Content-Type: application/json`",
            );
        }
    }
    next.run(req).await
}

/// How long a wrong token's answer waits.
const WRONG_TOKEN_WAIT: std::time::Duration = std::time::Duration::from_millis(500);

/// `POST /api/login` body.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginBody {
    token: String,
}

/// `POST /api/login` `{"token": T}`: the right token gets the session
/// cookie (200 `{"login": true}`), a wrong one 401 (after half a second).
/// A server without a
/// token answers 200 `{"login": false}` (nothing to log in to).
pub async fn login(State(server): State<Arc<Server>>, body: axum::body::Bytes) -> Response {
    let body: LoginBody = match serde_json::from_slice(&body) {
        Ok(b) => b,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("bad request body: {e}")),
    };
    let Some(token) = &server.token else {
        return Json(serde_json::json!({ "login": false })).into_response();
    };
    if !same(body.token.trim().as_bytes(), token.as_bytes()) {
        // Slows guessing down (a token file should hold a long random
        // token all the same).
        tokio::time::sleep(WRONG_TOKEN_WAIT).await;
        return error(StatusCode::UNAUTHORIZED, "wrong token");
    }
    let cookie = format!(
        "{COOKIE}={}; Path=/; HttpOnly; SameSite=Strict",
        session_value(token)
    );
    with_cookie(cookie, serde_json::json!({ "login": true }))
}

/// `POST /api/logout`: the session cookie is cleared.
pub async fn logout() -> Response {
    let cookie = format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    with_cookie(cookie, serde_json::json!({ "login": false }))
}

fn with_cookie(cookie: String, body: serde_json::Value) -> Response {
    let mut response = Json(body).into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, v);
    }
    response
}

/// Why a mutating request looks cross-site, if it does.
fn cross_site(req: &Request) -> Option<String> {
    let headers = req.headers();
    if headers
        .get("sec-fetch-site")
        .is_some_and(|v| v.as_bytes() == b"cross-site")
    {
        return Some("cross-site requests are refused".into());
    }
    let origin = headers.get(header::ORIGIN)?.to_str().ok().unwrap_or("");
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let own = format!("http://{host}");
    (host.is_empty() || origin != own)
        .then(|| format!("origin `{origin}` is not this server ({own})"))
}

/// Compares in time independent of where the bytes differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_compare_whole() {
        assert!(same(b"abc", b"abc"));
        assert!(!same(b"abc", b"abd"));
        assert!(!same(b"abc", b"abcd"));
        assert!(!same(b"", b"a"));
    }

    #[test]
    fn the_session_value_is_not_the_token_and_follows_it() {
        let a = session_value("s3cret");
        assert_eq!(a.len(), 64);
        assert!(!a.contains("s3cret"));
        assert_eq!(a, session_value("s3cret"));
        assert_ne!(a, session_value("s3cret2"));
    }
}

//! Who may ask what: the token and CSRF rules, applied to every request.
//!
//! - With a token (`--token-file`, required off loopback), every request
//!   brings `Authorization: Bearer TOKEN`, else 401.
//! - A mutating request (any method but GET/HEAD) must say
//!   `Content-Type: application/json` (415 otherwise): a page of another
//!   site cannot send that without a CORS preflight, which this server
//!   never grants. And if it names an `Origin`, that origin must be this
//!   server's own (`http://` + its `Host`), and `Sec-Fetch-Site`, when
//!   given, must not be `cross-site` (403 otherwise).

use axum::extract::{Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use std::sync::Arc;

use super::api::error;
use super::Server;

/// The middleware (see the module docs).
pub async fn check(State(server): State<Arc<Server>>, req: Request, next: Next) -> Response {
    if let Some(token) = &server.token {
        let given = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        if !given.is_some_and(|g| same(g.as_bytes(), token.as_bytes())) {
            return error(
                StatusCode::UNAUTHORIZED,
                "this server needs `Authorization: Bearer TOKEN`",
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
}

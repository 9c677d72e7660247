//! Who may ask `flow serve` what: a token off loopback, CSRF-safe
//! mutations.

mod support;

use serde_json::json;
use support::serve::{request, Project, Server};

const HELLO: &str = "flow hello {\n  timeout 1m\n  stage a { run \"true\" }\n}\n";

#[test]
fn a_non_loopback_bind_needs_a_token_and_every_request_must_bring_it() {
    let p = Project::new(&[("hello", HELLO)]);
    let out = support::serve::flow()
        .current_dir(p.path())
        .args(["serve", "--bind", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--token-file"));

    let token = p.path().join("token");
    std::fs::write(&token, "s3cret-token\n").unwrap();
    let s = Server::start(
        p.path(),
        "0.0.0.0:0",
        &["--token-file", token.to_str().unwrap()],
    );
    let url = s.url.replace("0.0.0.0", "127.0.0.1");
    let (status, _) = request(&url, "GET", "/api/runs", None, &[]);
    assert_eq!(status, 401);
    let (status, _) = request(
        &url,
        "GET",
        "/api/runs",
        None,
        &[("Authorization", "Bearer wrong")],
    );
    assert_eq!(status, 401);
    let auth = ("Authorization", "Bearer s3cret-token");
    let (status, _) = request(&url, "GET", "/api/runs", None, &[auth]);
    assert_eq!(status, 200);
    let body = json!({"flow": "hello"});
    let (status, _) = request(
        &url,
        "POST",
        "/api/runs",
        Some(&body),
        &[("Content-Type", "application/json")],
    );
    assert_eq!(status, 401);
    let (status, v) = request(
        &url,
        "POST",
        "/api/runs",
        Some(&body),
        &[auth, ("Content-Type", "application/json")],
    );
    assert_eq!(status, 201, "{v}");
    // `flow submit` with the token.
    let out = support::serve::flow()
        .args([
            "submit",
            "hello",
            "--server",
            &url,
            "--token-file",
            token.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
}

#[test]
fn mutations_must_be_json_and_same_origin() {
    let p = Project::new(&[("hello", HELLO)]);
    let s = p.serve(&[]);
    let body = json!({"flow": "hello"});
    // A form post (what a cross-site page can send without a preflight).
    let (status, _) = request(
        &s.url,
        "POST",
        "/api/runs",
        Some(&body),
        &[("Content-Type", "text/plain")],
    );
    assert_eq!(status, 415);
    let (status, _) = request(&s.url, "POST", "/api/runs", Some(&body), &[]);
    assert_eq!(status, 415);
    let json_type = ("Content-Type", "application/json");
    let (status, _) = request(
        &s.url,
        "POST",
        "/api/runs",
        Some(&body),
        &[json_type, ("Origin", "http://evil.example")],
    );
    assert_eq!(status, 403);
    let (status, _) = request(
        &s.url,
        "POST",
        "/api/runs",
        Some(&body),
        &[json_type, ("Sec-Fetch-Site", "cross-site")],
    );
    assert_eq!(status, 403);
    // Its own origin is fine.
    let own = s.url.clone();
    let (status, v) = request(
        &s.url,
        "POST",
        "/api/runs",
        Some(&body),
        &[json_type, ("Origin", &own)],
    );
    assert_eq!(status, 201, "{v}");
    // Nothing was queued by the refused ones.
    let (_, runs) = s.get("/api/runs");
    assert_eq!(runs.as_array().unwrap().len(), 1);
}

/// One request with cookies and headers, redirects not followed:
/// (status, headers, body text).
fn raw(
    url: &str,
    method: &str,
    body: Option<&serde_json::Value>,
    headers: &[(&str, &str)],
) -> (u16, ureq::http::HeaderMap, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into();
    let result = if method == "GET" {
        let mut r = agent.get(url);
        for (k, v) in headers {
            r = r.header(*k, *v);
        }
        r.call()
    } else {
        let mut r = agent.post(url);
        for (k, v) in headers {
            r = r.header(*k, *v);
        }
        r.send(body.map(|b| b.to_string()).unwrap_or_default())
    };
    let mut response = result.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (
        status,
        headers,
        response.body_mut().read_to_string().unwrap_or_default(),
    )
}

#[test]
fn the_dashboard_logs_in_with_the_token_once_and_keeps_a_strict_http_only_cookie() {
    let p = Project::new(&[("hello", HELLO)]);
    let token = p.path().join("token");
    std::fs::write(&token, "s3cret-token\n").unwrap();
    let s = p.serve(&["--token-file", token.to_str().unwrap()]);
    let url = |path: &str| format!("{}{path}", s.url);
    let json_type = ("Content-Type", "application/json");

    // A page without the token leads to the login page; the API says 401.
    let (status, headers, _) = raw(&url("/"), "GET", None, &[]);
    assert_eq!(status, 303);
    assert_eq!(headers["location"], "/login");
    let (status, _, _) = raw(&url("/api/runs"), "GET", None, &[]);
    assert_eq!(status, 401);
    // The login page and its assets are open.
    let (status, headers, page) = raw(&url("/login"), "GET", None, &[]);
    assert_eq!(status, 200);
    assert!(page.contains("login.js"), "{page}");
    assert!(headers.contains_key("content-security-policy"));
    let (status, _, _) = raw(&url("/assets/login.js"), "GET", None, &[]);
    assert_eq!(status, 200);

    // A wrong token is refused; the right one gets the cookie.
    let (status, headers, _) = raw(
        &url("/api/login"),
        "POST",
        Some(&json!({"token": "wrong"})),
        &[json_type],
    );
    assert_eq!(status, 401);
    assert!(!headers.contains_key("set-cookie"));
    // Logging in is a mutation like any other: JSON, same origin.
    let (status, _, _) = raw(
        &url("/api/login"),
        "POST",
        Some(&json!({"token": "s3cret-token"})),
        &[json_type, ("Origin", "http://evil.example")],
    );
    assert_eq!(status, 403);
    let (status, headers, _) = raw(
        &url("/api/login"),
        "POST",
        Some(&json!({"token": "s3cret-token"})),
        &[json_type],
    );
    assert_eq!(status, 200);
    let set = headers["set-cookie"].to_str().unwrap().to_string();
    assert!(set.starts_with("flow_session="), "{set}");
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
    assert!(
        !set.contains("s3cret-token"),
        "the cookie holds the token: {set}"
    );
    let cookie = set.split(';').next().unwrap().to_string();
    let with = ("Cookie", cookie.as_str());

    // The cookie opens the pages and the API.
    let (status, _, _) = raw(&url("/"), "GET", None, &[with]);
    assert_eq!(status, 200);
    let (status, _, _) = raw(&url("/api/runs"), "GET", None, &[with]);
    assert_eq!(status, 200);
    // Mutations with the cookie keep the CSRF rules.
    let body = json!({"flow": "hello"});
    let (status, _, _) = raw(
        &url("/api/runs"),
        "POST",
        Some(&body),
        &[with, ("Content-Type", "text/plain")],
    );
    assert_eq!(status, 415);
    let (status, _, _) = raw(
        &url("/api/runs"),
        "POST",
        Some(&body),
        &[with, json_type, ("Sec-Fetch-Site", "cross-site")],
    );
    assert_eq!(status, 403);
    let (status, _, text) = raw(&url("/api/runs"), "POST", Some(&body), &[with, json_type]);
    assert_eq!(status, 201, "{text}");
    // A forged cookie opens nothing.
    let (status, _, _) = raw(
        &url("/api/runs"),
        "GET",
        None,
        &[("Cookie", "flow_session=s3cret-token")],
    );
    assert_eq!(status, 401);
    // Logging out clears it.
    let (status, headers, _) = raw(
        &url("/api/logout"),
        "POST",
        Some(&json!({})),
        &[with, json_type],
    );
    assert_eq!(status, 200);
    assert!(headers["set-cookie"]
        .to_str()
        .unwrap()
        .contains("Max-Age=0"));
}

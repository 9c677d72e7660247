//! Who may ask `flow serve` what: a token off loopback, CSRF-safe
//! mutations.

mod serve_support;

use serde_json::json;
use serve_support::{request, Project, Server};

const HELLO: &str = "flow hello {\n  timeout 1m\n  stage a { run \"true\" }\n}\n";

#[test]
fn a_non_loopback_bind_needs_a_token_and_every_request_must_bring_it() {
    let p = Project::new(&[("hello", HELLO)]);
    let out = serve_support::flow()
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
    let out = serve_support::flow()
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

//! The web dashboard of `flow serve`, in a real headless browser: Debian's
//! Chromium driven over WebDriver (chromedriver) by `fantoccini`. Needs
//! `/usr/bin/chromium` and `/usr/bin/chromedriver` (packages `chromium`,
//! `chromium-driver`; `.ci/run` installs them); without them the browser
//! test fails and says so. `FLOW_TEST_CHROMIUM` / `FLOW_TEST_CHROMEDRIVER`
//! name other binaries.

mod support;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::serve::{Project, DEADLINE};

/// Two stages that print and sleep, one after the other.
const STEPS: &str = r#"
flow steps {
  timeout 5m
  stage build {
    run "echo hello from build; sleep 1; echo build done"
  }
  stage ship {
    needs build
    run "sleep 1; echo shipped; mkdir -p out; echo data > out/report.txt; echo '{\"status\":\"DONE\",\"links\":{\"pr\":\"https://example.com/pull/7\"}}'"
    status json
    outputs "out/report.txt"
  }
}
"#;

/// A human gate: `yes` leads to `ship`.
const GATE: &str = r#"
flow gate {
  timeout 5m
  stage review {
    approval "yes", "no"
    on status "yes" -> ship
  }
  stage ship { run "echo shipped after review" }
}
"#;

/// Params of each type, for the submit form.
const TYPED: &str = r#"
flow typed {
  param n: int = 2
  param wait: duration = 1m
  param who: str
  timeout 5m
  stage show { run "echo n=$N who=$WHO" }
}
"#;

/// A run that waits until it is cancelled.
const LONG: &str = r#"
flow long {
  timeout 10m
  stage wait {
    run "echo waiting; sleep 300"
  }
}
"#;

#[test]
fn pages_and_assets_are_served_with_their_types_and_a_strict_policy() {
    let p = Project::new(&[("steps", STEPS)]);
    let s = p.serve(&[]);
    let agent = support::serve::agent();
    let get = |path: &str| {
        let mut r = agent.get(&format!("{}{path}", s.url)).call().unwrap();
        let header = |name: &str| {
            r.headers()
                .get(name)
                .map(|v| v.to_str().unwrap().to_string())
                .unwrap_or_default()
        };
        let (ty, csp) = (header("content-type"), header("content-security-policy"));
        let status = r.status().as_u16();
        let body = r.body_mut().read_to_string().unwrap();
        (status, ty, csp, body)
    };
    for (path, ty, needle) in [
        ("/", "text/html", "/assets/runs.js"),
        (
            "/runs/20261206T040629Z-jad1nn",
            "text/html",
            "/assets/run.js",
        ),
        ("/assets/runs.js", "text/javascript", "/api/runs"),
        ("/assets/run.js", "text/javascript", "EventSource"),
        ("/assets/common.js", "text/javascript", "export function"),
        ("/assets/dashboard.css", "text/css", ".node"),
        ("/login", "text/html", "/assets/login.js"),
        ("/assets/login.js", "text/javascript", "/api/login"),
    ] {
        let (status, got_ty, csp, body) = get(path);
        assert_eq!(status, 200, "{path}");
        assert!(got_ty.starts_with(ty), "{path}: {got_ty}");
        assert!(csp.contains("default-src 'none'"), "{path}: {csp}");
        assert!(csp.contains("script-src 'self'"), "{path}: {csp}");
        assert!(!csp.contains("unsafe"), "{path}: {csp}");
        assert!(body.contains(needle), "{path} lacks {needle}");
    }
    // No inline script or style: the policy would block it.
    for page in ["/", "/runs/20261206T040629Z-jad1nn", "/login"] {
        let (_, _, _, html) = get(page);
        assert!(
            !html.contains("<script>") && !html.contains("style="),
            "{page}"
        );
    }
    assert_eq!(get("/runs/nope").0, 400);
    assert_eq!(get("/assets/nope.js").0, 404);
    // The API is untouched.
    assert_eq!(get("/api/nope").0, 404);
    assert_eq!(get("/api/flows").0, 200);
}

/// A binary the browser test needs: `var` if set, else `default`.
fn needed(var: &str, default: &str, package: &str) -> PathBuf {
    let path = std::env::var_os(var).map_or_else(|| PathBuf::from(default), PathBuf::from);
    assert!(
        path.is_file(),
        "the dashboard's browser test needs {} (Debian package `{package}`: \
         `apt-get install chromium chromium-driver`; or set {var})",
        path.display()
    );
    path
}

/// chromedriver on a free loopback port; killed when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    fn start(bin: &PathBuf) -> Driver {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(bin)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        let driver = Driver {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        support::serve::wait_for("chromedriver to answer", || {
            ureq::get(&format!("{}/status", driver.url)).call().is_ok()
        });
        driver
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A headless Chromium session with a fresh profile.
async fn browser(driver: &Driver, chromium: &PathBuf, profile: &std::path::Path) -> Client {
    let args = [
        "--headless".to_string(),
        "--no-sandbox".into(),
        "--disable-gpu".into(),
        "--disable-dev-shm-usage".into(),
        "--disable-quic".into(),
        "--no-first-run".into(),
        "--disable-background-networking".into(),
        "--disable-component-update".into(),
        "--disable-sync".into(),
        "--window-size=1280,1000".into(),
        format!("--user-data-dir={}", profile.display()),
    ];
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({ "binary": chromium, "args": args }),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .unwrap_or_else(|e| panic!("cannot open a Chromium session: {e}"))
}

/// Waits until an element matches `css`; returns it.
async fn element(c: &Client, css: &str) -> fantoccini::elements::Element {
    let t = Instant::now();
    loop {
        if let Ok(e) = c.find(Locator::Css(css)).await {
            return e;
        }
        assert!(
            t.elapsed() < DEADLINE,
            "no element `{css}` on {}:\n{}",
            c.current_url()
                .await
                .map(|u| u.to_string())
                .unwrap_or_default(),
            c.source().await.unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Clicks the element `css`, found again if the page re-rendered it under
/// the click (the live runs list and the run page redraw as runs change).
async fn click(c: &Client, css: &str) {
    let t = Instant::now();
    loop {
        match element(c, css).await.click().await {
            Ok(()) => return,
            Err(e) if e.is_stale_element_reference() && t.elapsed() < DEADLINE => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("clicking `{css}`: {e}"),
        }
    }
}

/// The attribute `name` of the element `css` (which must have it), found
/// again if the page re-rendered it meanwhile.
async fn attr(c: &Client, css: &str, name: &str) -> String {
    let t = Instant::now();
    loop {
        match element(c, css).await.attr(name).await {
            Ok(Some(value)) => return value,
            Ok(None) => panic!("`{css}` has no `{name}`"),
            Err(e) if e.is_stale_element_reference() && t.elapsed() < DEADLINE => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("reading `{name}` of `{css}`: {e}"),
        }
    }
}

/// Waits until the text of the element `css` contains `needle`.
async fn text(c: &Client, css: &str, needle: &str) -> String {
    let t = Instant::now();
    let mut last = String::new();
    loop {
        if let Ok(e) = c.find(Locator::Css(css)).await {
            last = e.text().await.unwrap_or_default();
            if last.contains(needle) {
                return last;
            }
        }
        assert!(
            t.elapsed() < DEADLINE,
            "`{css}` never showed `{needle}`; last text: {last:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[test]
fn a_run_appears_its_stages_turn_green_live_its_log_arrives_cancel_and_approve_work() {
    let chromium = needed("FLOW_TEST_CHROMIUM", "/usr/bin/chromium", "chromium");
    let chromedriver = needed(
        "FLOW_TEST_CHROMEDRIVER",
        "/usr/bin/chromedriver",
        "chromium-driver",
    );
    let p = Project::new(&[
        ("steps", STEPS),
        ("long", LONG),
        ("gate", GATE),
        ("typed", TYPED),
    ]);
    std::fs::write(
        p.flow_file("broken"),
        "flow broken { stage a { needs nope run \"true\" } }",
    )
    .unwrap();
    // One job: a second run waits in the queue while the long one runs.
    let s = p.serve(&["--jobs", "1"]);
    let driver = Driver::start(&chromedriver);
    let profile = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let ids = runtime.block_on(async {
        let c = browser(&driver, &chromium, profile.path()).await;
        c.goto(&format!("{}/", s.url)).await.unwrap();
        // The broken flow shows with its diagnostic.
        text(&c, "#broken", "unknown stage `nope`").await;

        // A run submitted through the API appears, its description rendered.
        let id = s.submit(json!({"flow": "steps", "key": "k-1",
            "description": "say **hi** <b>raw</b> [docs](https://example.com/d) [bad](javascript:alert(1))\n\n- item one\n- item two"}));
        let row = format!("tr[data-run='{id}']");
        element(&c, &row).await;
        text(&c, &format!("{row} strong"), "hi").await;
        let docs = text(&c, &format!("{row} a[href='https://example.com/d']"), "docs").await;
        assert_eq!(docs, "docs");
        // Markdown, not just inline: a list.
        text(&c, &format!("{row} li"), "item one").await;
        // Markup in a description is text, never HTML.
        text(&c, &row, "<b>raw</b>").await;
        assert!(c.find(Locator::Css(&format!("{row} b"))).await.is_err());
        // Only http(s) links.
        text(&c, &row, "bad").await;
        assert!(c.find(Locator::Css(&format!("{row} a[href^='javascript']"))).await.is_err());

        // Its page: the graph's stages turn green as they succeed.
        click(&c, &format!("a.run-link[data-run='{id}']")).await;
        element(&c, ".node[data-stage='build']").await;
        element(&c, ".node[data-stage='ship']").await;
        // The graph draws the `needs` edge.
        element(&c, "path.edge[data-from='build'][data-to='ship'][data-kind='needs']").await;
        element(&c, ".node[data-stage='build'][data-state='succeeded']").await;
        text(&c, "pre[data-log='build']", "hello from build").await;
        element(&c, ".node[data-stage='ship'][data-state='succeeded']").await;
        text(&c, "pre[data-log='ship']", "shipped").await;
        text(&c, "#run-state", "succeeded").await;
        // The link its stage set, on the run.
        element(&c, "#run-links a[href='https://example.com/pull/7']").await;
        let href = attr(&c, "#stage-ship .artifacts a.open", "href").await;
        assert!(href.ends_with("/artifacts/ship/out/report.txt?view=true"), "{href}");
        let href = attr(&c, "#stage-ship .artifacts a", "href").await;
        assert!(
            href.ends_with(&format!("/api/runs/{id}/artifacts/ship/out/report.txt")),
            "{href}"
        );

        // No approval form where nothing waits for one.
        let form = element(&c, "#stage-build .approve").await;
        assert!(!form.is_displayed().await.unwrap());

        // A long run; the next one waits in the queue behind it.
        let long = s.submit(json!({"flow": "long"}));
        support::serve::wait_for("the long run to start", || {
            s.run(&long)["state"] == "running"
        });
        let gate = s.submit(json!({"flow": "gate", "key": "g-1"}));
        c.goto(&format!("{}/", s.url)).await.unwrap();
        element(&c, &format!("#queue tr[data-run='{gate}']")).await;
        text(&c, "#queue-count", "(1)").await;

        // The long run, cancelled from its page.
        c.goto(&format!("{}/runs/{long}", s.url)).await.unwrap();
        element(&c, ".node[data-stage='wait'][data-state='running']").await;
        text(&c, "pre[data-log='wait']", "waiting").await;
        click(&c, "#cancel:not([disabled])").await;
        text(&c, "#run-state", "cancelled").await;

        // The gate starts, waits, and takes its decision from the page (a
        // button per word it lists).
        c.goto(&format!("{}/runs/{gate}", s.url)).await.unwrap();
        element(&c, ".node[data-stage='review'][data-state='waiting']").await;
        // A route is drawn dashed, named by its outcome.
        element(&c, "path.edge.route[data-from='review'][data-to='ship']").await;
        let no = element(&c, "#stage-review .approve button[data-decision='no']").await;
        assert!(no.is_displayed().await.unwrap());
        element(&c, "#stage-review .approve input[aria-label='message']")
            .await
            .send_keys("looks good")
            .await
            .unwrap();
        click(&c, "#stage-review .approve button[data-decision='yes']").await;
        element(&c, ".node[data-stage='ship'][data-state='succeeded']").await;
        text(&c, "#run-state", "succeeded").await;
        // Nothing the pages load or do was blocked by their own policy.
        let body = element(&c, "body").await;
        assert_eq!(body.attr("data-csp-violation").await.unwrap(), None);

        // The submit form: the flow's params with their types and defaults;
        // the run it queues shows up and finishes in the list live (the
        // runs page does not poll: only the event stream moves it).
        c.goto(&format!("{}/", s.url)).await.unwrap();
        click(&c, "#submit-flow option[value='steps']").await;
        element(&c, "#submit-key").await.send_keys("k-form").await.unwrap();
        element(&c, "#submit-description")
            .await
            .send_keys("from the **form**")
            .await
            .unwrap();
        click(&c, "#submit").await;
        let form_run = attr(&c, "#submit-result a.run-link", "data-run").await;
        let row = format!("#runs tr[data-run='{form_run}']");
        element(&c, &format!("{row}[data-state='succeeded']")).await;
        text(&c, &format!("{row} strong"), "form").await;
        // The links its stages set show in the list too.
        let pr = text(&c, &format!("{row} .links a[href='https://example.com/pull/7']"), "pr").await;
        assert_eq!(pr, "pr");
        // Its key is free again once the run finished: a second run.
        click(&c, "#submit").await;
        let again = attr(&c, &format!("#submit-result a.run-link:not([data-run='{form_run}'])"), "data-run").await;
        element(&c, &format!("#runs tr[data-run='{again}'][data-state='succeeded']")).await;

        // A flow's params, with their types and defaults; a required one
        // left empty is refused by the API, which says which.
        click(&c, "#submit-flow option[value='typed']").await;
        let n = element(&c, "#submit-params input[data-param='n'][data-type='int']").await;
        assert_eq!(n.attr("placeholder").await.unwrap().unwrap(), "default: 2");
        let wait = element(&c, "#submit-params input[data-param='wait']").await;
        assert_eq!(wait.attr("placeholder").await.unwrap().unwrap(), "default: 60s");
        element(&c, "#submit-key").await.clear().await.unwrap();
        click(&c, "#submit").await;
        text(&c, "#submit-result", "missing required param `who`").await;
        n.send_keys("5").await.unwrap();
        element(&c, "#submit-params input[data-param='who']")
            .await
            .send_keys("me")
            .await
            .unwrap();
        click(&c, "#submit").await;
        let typed = attr(&c, "#submit-result a.run-link", "data-run").await;
        element(&c, &format!("#runs tr[data-run='{typed}'][data-state='succeeded']")).await;
        let run = s.run(&typed);
        assert_eq!(run["params"], json!({"n": 5, "wait": 60, "who": "me"}), "{run}");

        // `flow stats` figures, the same numbers as the command prints.
        let out = support::serve::flow()
            .current_dir(p.path())
            .args(["stats", "--json", "--flow", "steps"])
            .output()
            .unwrap();
        let cli: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let runs = cli[0]["runs"].to_string();
        let success = format!("{:.0}%", cli[0]["success_rate"].as_f64().unwrap() * 100.0);
        let shown = text(&c, "tr[data-flow='steps'] td[data-figure='runs']", &runs).await;
        assert_eq!(shown, runs);
        let shown = text(&c, "tr[data-flow='steps'] td[data-figure='success']", &success).await;
        assert_eq!(shown, success);
        let body = element(&c, "body").await;
        assert_eq!(body.attr("data-csp-violation").await.unwrap(), None);
        c.close().await.unwrap();
        (long, gate)
    });
    // The API agrees.
    let (long, gate) = ids;
    assert_eq!(s.wait_finished(&long)["outcome"], "cancelled");
    let run = s.wait_finished(&gate);
    assert_eq!(run["outcome"], "succeeded", "{run}");
}

#[test]
fn with_a_token_the_login_page_takes_it_once_and_opens_the_dashboard() {
    let chromium = needed("FLOW_TEST_CHROMIUM", "/usr/bin/chromium", "chromium");
    let chromedriver = needed(
        "FLOW_TEST_CHROMEDRIVER",
        "/usr/bin/chromedriver",
        "chromium-driver",
    );
    let p = Project::new(&[("steps", STEPS)]);
    let token = p.path().join("token");
    std::fs::write(&token, "s3cret-token\n").unwrap();
    let s = p.serve(&["--token-file", token.to_str().unwrap()]);
    let id = {
        let (status, v) = support::serve::request(
            &s.url,
            "POST",
            "/api/runs",
            Some(&json!({"flow": "steps"})),
            &[
                ("Content-Type", "application/json"),
                ("Authorization", "Bearer s3cret-token"),
            ],
        );
        assert_eq!(status, 201, "{v}");
        v["id"].as_str().unwrap().to_string()
    };
    let driver = Driver::start(&chromedriver);
    let profile = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let c = browser(&driver, &chromium, profile.path()).await;
        // The dashboard sends a browser without a session to /login.
        c.goto(&format!("{}/runs/{id}", s.url)).await.unwrap();
        element(&c, "#token")
            .await
            .send_keys("wrong")
            .await
            .unwrap();
        click(&c, "#login").await;
        text(&c, "#login-result", "401").await;
        let input = element(&c, "#token").await;
        input.clear().await.unwrap();
        input.send_keys("s3cret-token").await.unwrap();
        click(&c, "#login").await;
        // In: the runs page, live, with the run.
        element(
            &c,
            &format!("#runs tr[data-run='{id}'][data-state='succeeded']"),
        )
        .await;
        // The cookie is not readable by scripts.
        let cookie = c.execute("return document.cookie", vec![]).await.unwrap();
        assert_eq!(cookie, json!(""));
        // A run page works with it too (API reads, the event stream).
        c.goto(&format!("{}/runs/{id}", s.url)).await.unwrap();
        element(&c, ".node[data-stage='ship'][data-state='succeeded']").await;
        let body = element(&c, "body").await;
        assert_eq!(body.attr("data-csp-violation").await.unwrap(), None);
        c.close().await.unwrap();
    });
}

//! A real `flow serve` for tests: started on `127.0.0.1:0` in a temporary
//! project, its port read from its "listening on" line, spoken to over
//! HTTP with `ureq`; SIGKILLed when dropped.

#![allow(dead_code)] // each test binary uses a different part of this module

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Generous: the CI machine is a loaded 2-core box.
pub const DEADLINE: Duration = Duration::from_secs(60);

/// The `flow` binary under test.
pub fn flow_bin() -> &'static str {
    env!("CARGO_BIN_EXE_flow")
}

/// A `flow` command with the outer run's variables removed (the tests may
/// themselves run inside a flow stage or beside a server).
pub fn flow() -> Command {
    let mut cmd = Command::new(flow_bin());
    for var in [
        "FLOW_SERVER",
        "FLOW_SERVER_TOKEN",
        "FLOW_RUN_ID",
        "FLOW_LOG",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

/// A project folder with `pipelines/NAME.flow` files.
pub struct Project {
    pub dir: tempfile::TempDir,
}

impl Project {
    /// A project holding `flows` (`(name, text)`, written to `pipelines/`).
    pub fn new(flows: &[(&str, &str)]) -> Project {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("pipelines")).unwrap();
        let p = Project { dir };
        for (name, text) in flows {
            p.write(name, text);
        }
        p
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `pipelines/<name>.flow`.
    pub fn write(&self, name: &str, text: &str) {
        std::fs::write(self.flow_file(name), text).unwrap();
    }

    pub fn flow_file(&self, name: &str) -> PathBuf {
        self.path().join("pipelines").join(format!("{name}.flow"))
    }

    /// `.flow/runs/<id>`.
    pub fn run_root(&self, id: &str) -> PathBuf {
        self.path().join(".flow/runs").join(id)
    }

    /// The journal of run `id`, one JSON value per line.
    pub fn journal(&self, id: &str) -> Vec<Value> {
        std::fs::read_to_string(self.run_root(id).join("journal.jsonl"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// Starts `flow serve --bind 127.0.0.1:0 [extra…]` here.
    pub fn serve(&self, extra: &[&str]) -> Server {
        Server::start(self.path(), "127.0.0.1:0", extra)
    }
}

/// A running server.
pub struct Server {
    child: Child,
    pub url: String,
    pub log: PathBuf,
    _logdir: tempfile::TempDir,
}

impl Server {
    /// Starts `flow serve` in `cwd`, waiting for its "listening on" line.
    /// Its `PATH` starts with the `flow` under test (`flow submit` inside
    /// stages).
    pub fn start(cwd: &Path, bind: &str, extra: &[&str]) -> Server {
        Server::start_with(cwd, bind, extra, &[])
    }

    /// [`Server::start`] with more variables (`("PATH", …)` replaces the
    /// default one).
    pub fn start_with(cwd: &Path, bind: &str, extra: &[&str], env: &[(&str, &str)]) -> Server {
        let logdir = tempfile::tempdir().unwrap();
        let log = logdir.path().join("serve.log");
        let out = std::fs::File::create(&log).unwrap();
        let mut cmd = flow();
        cmd.current_dir(cwd)
            .args(["serve", "--bind", bind])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(out);
        // `flow submit` inside stages.
        let path = std::env::var("PATH").unwrap_or_default();
        let bin_dir = Path::new(flow_bin())
            .parent()
            .unwrap()
            .display()
            .to_string();
        cmd.env("PATH", format!("{bin_dir}:{path}"));
        for (name, value) in env {
            cmd.env(name, value);
        }
        let mut server = Server {
            child: cmd.spawn().unwrap(),
            url: String::new(),
            log,
            _logdir: logdir,
        };
        let t = Instant::now();
        loop {
            let text = server.output();
            // The whole line: the log may be read while it is being written.
            if let Some((line, _)) = text
                .split("listening on ")
                .nth(1)
                .and_then(|r| r.split_once('\n'))
            {
                server.url = line.trim().to_string();
                return server;
            }
            // A failed start: its output says why (dropping kills it).
            assert!(t.elapsed() < DEADLINE, "flow serve did not start:\n{text}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// What the server printed so far.
    pub fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGINT (Ctrl-C) and waits for the server to exit.
    pub fn interrupt(mut self) -> std::process::ExitStatus {
        let kill = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(kill.success());
        let t = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(t.elapsed() < DEADLINE, "flow serve ignored SIGINT");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGKILLs the server and reaps it.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// `GET path` → (status, JSON body).
    pub fn get(&self, path: &str) -> (u16, Value) {
        request(&self.url, "GET", path, None, &[])
    }

    /// `POST path` with a JSON body → (status, JSON body).
    pub fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        request(
            &self.url,
            "POST",
            path,
            Some(body),
            &[("Content-Type", "application/json")],
        )
    }

    /// Submits `{"flow": flow, …more}` and returns the new run's id.
    pub fn submit(&self, body: Value) -> String {
        let (status, answer) = self.post("/api/runs", &body);
        assert_eq!(status, 201, "submit {body}: {answer}");
        answer["id"].as_str().unwrap().to_string()
    }

    /// Run `id` as the API gives it.
    pub fn run(&self, id: &str) -> Value {
        let (status, v) = self.get(&format!("/api/runs/{id}"));
        assert_eq!(status, 200, "{v}");
        v
    }

    /// The runs of flow `name`, as `GET /api/runs?flow=NAME` lists them.
    pub fn runs_of(&self, name: &str) -> Vec<Value> {
        let (status, v) = self.get(&format!("/api/runs?flow={name}"));
        assert_eq!(status, 200, "{v}");
        v.as_array().unwrap().clone()
    }

    /// Waits until run `id` is finished; returns it.
    pub fn wait_finished(&self, id: &str) -> Value {
        let mut last = Value::Null;
        wait_for(&format!("run {id} to finish"), || {
            last = self.run(id);
            last["state"] == "finished"
        });
        last
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An agent whose 4xx/5xx answers are answers, not errors.
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into()
}

/// One request → (status, JSON body; `Null` when the body is not JSON).
pub fn request(
    url: &str,
    method: &str,
    path: &str,
    body: Option<&Value>,
    headers: &[(&str, &str)],
) -> (u16, Value) {
    let full = format!("{url}{path}");
    let agent = agent();
    let result = match method {
        "GET" => {
            let mut r = agent.get(&full);
            for (k, v) in headers {
                r = r.header(*k, *v);
            }
            r.call()
        }
        _ => {
            let mut r = agent.post(&full);
            for (k, v) in headers {
                r = r.header(*k, *v);
            }
            r.send(body.map(Value::to_string).unwrap_or_default())
        }
    };
    let mut response = result.unwrap_or_else(|e| panic!("{method} {full}: {e}"));
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Waits for `cond`, up to [`DEADLINE`].
pub fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let t = Instant::now();
    while !cond() {
        assert!(t.elapsed() < DEADLINE, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Reads a run's SSE stream until `run_finished`: `(id, data)` per event.
pub fn read_events(url: &str, run: &str, last_event_id: Option<u64>) -> Vec<(u64, Value)> {
    let mut r = agent().get(&format!("{url}/api/runs/{run}/events"));
    if let Some(n) = last_event_id {
        r = r.header("Last-Event-ID", &n.to_string());
    }
    let response = r.call().unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let reader = BufReader::new(response.into_body().into_reader());
    let mut events = Vec::new();
    let mut id = None;
    for line in reader.lines() {
        let line = line.unwrap();
        if let Some(v) = line
            .strip_prefix("id: ")
            .or_else(|| line.strip_prefix("id:"))
        {
            id = v.trim().parse().ok();
        } else if let Some(data) = line
            .strip_prefix("data: ")
            .or_else(|| line.strip_prefix("data:"))
        {
            let value: Value = serde_json::from_str(data).unwrap();
            let done = value["event"] == "run_finished";
            events.push((id.take().expect("an id before each data"), value));
            if done {
                break;
            }
        }
    }
    events
}

/// Reads an SSE stream to its end: `(id, data)` per event.
pub fn read_stream(url: &str, last_event_id: Option<&str>) -> Vec<(String, Value)> {
    let mut r = agent().get(url);
    if let Some(id) = last_event_id {
        r = r.header("Last-Event-ID", id);
    }
    let response = r.call().unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let reader = BufReader::new(response.into_body().into_reader());
    let mut events = Vec::new();
    let mut id = None;
    // A server that goes away ends the stream.
    for line in reader.lines().map_while(Result::ok) {
        if let Some(v) = line.strip_prefix("id:") {
            id = Some(v.trim().to_string());
        } else if let Some(data) = line.strip_prefix("data:") {
            let value: Value = serde_json::from_str(data.trim()).unwrap();
            events.push((id.take().expect("an id before each data"), value));
        }
    }
    events
}

/// Reads an SSE stream that does not end (`GET /api/events`) until `done`
/// holds for an event's data: `(id, data)` per event, ids `None` where the
/// event has none.
pub fn read_until(
    url: &str,
    opened: impl FnOnce(),
    mut done: impl FnMut(&Value) -> bool,
) -> Vec<(Option<String>, Value)> {
    let response = agent().get(url).call().unwrap();
    assert_eq!(response.status().as_u16(), 200);
    opened();
    let reader = BufReader::new(response.into_body().into_reader());
    let mut events = Vec::new();
    let mut id = None;
    for line in reader.lines() {
        let line = line.unwrap_or_else(|e| panic!("{url}: {e}; read so far: {events:?}"));
        if let Some(v) = line.strip_prefix("id:") {
            id = Some(v.trim().to_string());
        } else if let Some(data) = line.strip_prefix("data:") {
            let value: Value = serde_json::from_str(data.trim()).unwrap();
            let stop = done(&value);
            events.push((id.take(), value));
            if stop {
                break;
            }
        }
    }
    events
}

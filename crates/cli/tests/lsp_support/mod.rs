//! A small LSP client for the tests: starts the real `flow lsp`, speaks
//! JSON-RPC with `Content-Length` frames over its stdin/stdout.

use serde_json::{json, Value};
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

/// How long a test waits for one message before it fails (a hang guard,
/// not a speed check).
const PATIENCE: Duration = Duration::from_secs(60);

/// A running `flow lsp` and what it sent that no one asked for yet.
pub struct Client {
    child: Child,
    stdin: ChildStdin,
    inbox: Receiver<Value>,
    /// Notifications read while waiting for something else.
    pending: VecDeque<Value>,
    next_id: i64,
}

impl Client {
    /// Starts `flow lsp` in `dir` with `PATH` set to `path` (to hide or
    /// show shellcheck) and initializes it; `utf8` offers UTF-8 positions.
    pub fn start(dir: &Path, path: &str, utf8: bool) -> (Client, Value) {
        Client::start_with(dir, path, utf8, true)
    }

    /// [`Client::start`], naming `dir` as the workspace (`rootUri`) only
    /// when `root` (a client that opened a single file names none).
    pub fn start_with(dir: &Path, path: &str, utf8: bool, root: bool) -> (Client, Value) {
        let mut child = Command::new(env!("CARGO_BIN_EXE_flow"))
            .arg("lsp")
            .current_dir(dir)
            .env("PATH", path)
            .env("FLOW_CACHE_DIR", dir.join(".cache"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start flow lsp");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, inbox) = channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            loop {
                let mut length = None;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let line = line.trim_end();
                    if line.is_empty() {
                        break;
                    }
                    if let Some(v) = line.strip_prefix("Content-Length: ") {
                        length = v.parse::<usize>().ok();
                    }
                }
                let mut body = vec![0; length.expect("Content-Length")];
                reader.read_exact(&mut body).expect("body");
                let value: Value = serde_json::from_slice(&body).expect("JSON body");
                if tx.send(value).is_err() {
                    return;
                }
            }
        });
        let mut client = Client {
            child,
            stdin,
            inbox,
            pending: VecDeque::new(),
            next_id: 1,
        };
        let mut caps = json!({});
        if utf8 {
            caps = json!({ "general": { "positionEncodings": ["utf-8", "utf-16"] } });
        }
        let root = if root { json!(url(dir)) } else { Value::Null };
        let init = client.request(
            "initialize",
            json!({ "processId": null, "rootUri": root, "capabilities": caps }),
        );
        client.notify("initialized", json!({}));
        (client, init)
    }

    /// Sends a notification.
    pub fn notify(&mut self, method: &str, params: Value) {
        self.send(json!({ "jsonrpc": "2.0", "method": method, "params": params }));
    }

    /// Sends a request and returns its response's `result` (panics on an error
    /// response: use [`Client::request_raw`] to see it).
    pub fn request(&mut self, method: &str, params: Value) -> Value {
        let resp = self.request_raw(method, params);
        assert!(resp.get("error").is_none(), "{method}: {resp}");
        resp["result"].clone()
    }

    /// Sends a request and returns its whole response.
    pub fn request_raw(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send(json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }));
        loop {
            let msg = self.receive();
            if msg.get("id") == Some(&json!(id)) && msg.get("method").is_none() {
                return msg;
            }
            self.pending.push_back(msg);
        }
    }

    /// The next `publishDiagnostics` for `uri` whose `version` is `version`
    /// (`None`: any).
    pub fn diagnostics(&mut self, uri: &str, version: Option<i64>) -> Vec<Value> {
        self.publish(uri, |v| version.is_none_or(|want| *v == want))
    }

    /// The next `publishDiagnostics` for `uri` without a version (a closed
    /// document's).
    pub fn cleared(&mut self, uri: &str) -> Vec<Value> {
        self.publish(uri, Value::is_null)
    }

    fn publish(&mut self, uri: &str, version: impl Fn(&Value) -> bool) -> Vec<Value> {
        let matches = |m: &Value| {
            m["method"] == "textDocument/publishDiagnostics"
                && m["params"]["uri"] == uri
                && version(&m["params"]["version"])
        };
        if let Some(i) = self.pending.iter().position(matches) {
            let m = self.pending.remove(i).expect("pending");
            return m["params"]["diagnostics"]
                .as_array()
                .cloned()
                .unwrap_or_default();
        }
        loop {
            let msg = self.receive();
            if matches(&msg) {
                return msg["params"]["diagnostics"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
            }
            self.pending.push_back(msg);
        }
    }

    /// Opens `uri` with `text` (version 1).
    pub fn open(&mut self, uri: &str, text: &str) {
        self.notify(
            "textDocument/didOpen",
            json!({ "textDocument": { "uri": uri, "languageId": "flow", "version": 1, "text": text } }),
        );
    }

    /// Replaces `uri`'s text (full sync).
    pub fn change(&mut self, uri: &str, version: i64, text: &str) {
        self.notify(
            "textDocument/didChange",
            json!({ "textDocument": { "uri": uri, "version": version }, "contentChanges": [{ "text": text }] }),
        );
    }

    /// `shutdown`, `exit`, and the server's exit code.
    pub fn stop(mut self) -> Option<i32> {
        let result = self.request("shutdown", Value::Null);
        assert_eq!(result, Value::Null);
        self.notify("exit", Value::Null);
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status.code();
            }
            assert!(Instant::now() < deadline, "flow lsp did not exit");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The exit code once the server has exited (`Some(None)`: by a signal).
    pub fn try_status(&mut self) -> Option<Option<i32>> {
        self.child.try_wait().expect("wait").map(|s| s.code())
    }

    fn send(&mut self, value: Value) {
        let body = value.to_string();
        write!(self.stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).expect("write");
        self.stdin.flush().expect("flush");
    }

    fn receive(&mut self) -> Value {
        match self.inbox.recv_timeout(PATIENCE) {
            Ok(v) => v,
            Err(RecvTimeoutError::Timeout) => {
                panic!("no message from flow lsp; pending: {:?}", self.pending)
            }
            Err(RecvTimeoutError::Disconnected) => {
                panic!("flow lsp closed its output; pending: {:?}", self.pending)
            }
        }
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `file:` URI of `path` (ASCII paths without spaces: the tests' own).
pub fn url(path: &Path) -> String {
    format!("file://{}", path.display())
}

/// `{ "line": l, "character": c }`.
pub fn pos(line: u32, character: u32) -> Value {
    json!({ "line": line, "character": character })
}

/// The position of the `nth` (0-based) occurrence of `needle` in `text`,
/// plus `shift` characters, in UTF-16 units.
pub fn find(text: &str, needle: &str, nth: usize, shift: usize) -> Value {
    let offset = text
        .match_indices(needle)
        .nth(nth)
        .unwrap_or_else(|| panic!("no {needle:?} #{nth}"))
        .0;
    let before = &text[..offset];
    let line = before.matches('\n').count();
    let start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = text[start..offset].encode_utf16().count() + shift;
    pos(line as u32, col as u32)
}

/// A range from two positions.
pub fn range(start: Value, end: Value) -> Value {
    json!({ "start": start, "end": end })
}

//! `flow submit FLOW [--key K] [--description MD] [--PARAM V …] [--server
//! URL] [--token-file FILE]`: queue a run on a `flow serve`.
//!
//! The server is `--server`, else `$FLOW_SERVER` (set in the stages of the
//! server's own runs), else `http://127.0.0.1:7777`. Inside a stage
//! (`$FLOW_RUN_ID` set) the run submitted records that run as its parent.
//! Param values are sent as text and typed by the server against the flow,
//! as `flow run` types its command line; a repeated `--PARAM` sends a list.

use serde_json::{json, Map, Value};

/// Exit status when the key belongs to a live run (its id is printed).
pub const EXIT_DUPLICATE: u8 = 3;

const USAGE: &str = "Usage: flow submit FLOW [--key K] [--description MD] [--PARAM VALUE …] [--server URL] [--token-file FILE]

Queue a run of FLOW on a `flow serve` and print its id.

Options:
  --key K            Dedupe key: refused while a run with this key is queued or not finished
  --description MD   Description of the run (markdown)
  --server URL       The server [default: $FLOW_SERVER, else http://127.0.0.1:7777]
  --token-file FILE  A file holding the server's token [default: $FLOW_SERVER_TOKEN]
  --PARAM VALUE      A param of the flow (repeat for a list)

Exit status: 0 queued (id on stdout), 3 refused: the key is taken (the holder's id
on stdout), 1 refused or failed (reason on stderr), 2 usage.
";

/// What the command line asked for.
#[derive(Debug, Default, PartialEq)]
struct Request {
    flow: String,
    key: Option<String>,
    description: Option<String>,
    server: Option<String>,
    token_file: Option<String>,
    params: Map<String, Value>,
}

/// Parses everything after `submit`.
fn parse(args: &[String]) -> Result<Request, String> {
    let mut it = args.iter();
    let flow = it.next().ok_or("missing FLOW")?;
    if flow.starts_with('-') {
        return Err(format!("expected FLOW first, found `{flow}`"));
    }
    let mut req = Request {
        flow: flow.clone(),
        ..Request::default()
    };
    while let Some(arg) = it.next() {
        let Some(name) = arg.strip_prefix("--") else {
            return Err(format!(
                "unexpected `{arg}`: options and params are `--NAME VALUE`"
            ));
        };
        let (name, value) = match name.split_once('=') {
            Some((n, v)) => (n.to_string(), v.to_string()),
            None => {
                let v = it
                    .next()
                    .ok_or_else(|| format!("`--{name}` needs a value"))?;
                (name.to_string(), v.clone())
            }
        };
        match name.as_str() {
            "key" => req.key = Some(value),
            "description" => req.description = Some(value),
            "server" => req.server = Some(value),
            "token-file" => req.token_file = Some(value),
            "" => return Err("`--` is not an option".into()),
            param => {
                let param = param.replace('-', "_");
                match req.params.remove(&param) {
                    None => req.params.insert(param, Value::String(value)),
                    Some(Value::String(first)) => req.params.insert(param, json!([first, value])),
                    Some(Value::Array(mut all)) => {
                        all.push(Value::String(value));
                        req.params.insert(param, Value::Array(all))
                    }
                    Some(other) => req.params.insert(param, other),
                };
            }
        }
    }
    Ok(req)
}

/// Submits; see the module docs and [`USAGE`] for exit statuses.
pub fn run(args: &[String]) -> u8 {
    if args.first().is_some_and(|a| a == "--help" || a == "-h") {
        print!("{USAGE}");
        return 0;
    }
    let req = match parse(args) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}\n\n{USAGE}");
            return crate::EXIT_USAGE;
        }
    };
    let server = req
        .server
        .clone()
        .or_else(|| std::env::var("FLOW_SERVER").ok().filter(|s| !s.is_empty()))
        .unwrap_or_else(|| "http://127.0.0.1:7777".into());
    let token = match &req.token_file {
        Some(file) => match std::fs::read_to_string(file) {
            Ok(t) => Some(t.trim().to_string()),
            Err(e) => {
                eprintln!("error: --token-file {file}: {e}");
                return crate::EXIT_USAGE;
            }
        },
        None => std::env::var("FLOW_SERVER_TOKEN")
            .ok()
            .filter(|t| !t.is_empty()),
    };
    let parent = std::env::var("FLOW_RUN_ID").ok().filter(|p| !p.is_empty());
    let body = json!({
        "flow": req.flow,
        "key": req.key,
        "description": req.description,
        "params": req.params,
        "parent": parent,
    });
    let url = format!("{}/api/runs", server.trim_end_matches('/'));
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(std::time::Duration::from_secs(60)))
        .build()
        .into();
    let mut request = agent.post(&url).header("Content-Type", "application/json");
    if let Some(token) = &token {
        request = request.header("Authorization", &format!("Bearer {token}"));
    }
    let mut response = match request.send(body.to_string()) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot reach the flow server at {server}: {e}");
            return 1;
        }
    };
    let status = response.status().as_u16();
    let answer: Value = response
        .body_mut()
        .read_json()
        .unwrap_or_else(|_| json!({}));
    let id = answer["id"].as_str().unwrap_or("");
    match status {
        201 => {
            println!("{id}");
            0
        }
        409 => {
            println!("{id}");
            eprintln!(
                "refused: run {id} holds key `{}`",
                req.key.as_deref().unwrap_or("")
            );
            EXIT_DUPLICATE
        }
        _ => {
            let why = answer["error"].as_str().unwrap_or("no reason given");
            eprintln!("error: the server refused the run ({status}): {why}");
            if let Some(diags) = answer["diagnostics"].as_array() {
                for d in diags {
                    if let Some(m) = d["message"].as_str() {
                        eprintln!("  {}: {m}", d["code"].as_str().unwrap_or("-"));
                    }
                }
            }
            1
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| (*s).to_string()).collect()
    }

    #[test]
    fn options_params_and_lists() {
        let r = parse(&args(&[
            "build",
            "--key",
            "k1",
            "--issue",
            "42",
            "--tag=a",
            "--tag",
            "b",
            "--dry-run",
            "true",
        ]))
        .unwrap();
        assert_eq!(r.flow, "build");
        assert_eq!(r.key.as_deref(), Some("k1"));
        assert_eq!(r.params["issue"], json!("42"));
        assert_eq!(r.params["tag"], json!(["a", "b"]));
        assert_eq!(r.params["dry_run"], json!("true"));
        assert!(parse(&args(&["--key", "x"])).is_err());
        assert!(parse(&args(&["f", "--key"])).is_err());
        assert!(parse(&args(&["f", "stray"])).is_err());
    }
}

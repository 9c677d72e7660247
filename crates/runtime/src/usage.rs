//! What an agent used in an attempt: tokens, turns, cost. A stage reports it
//! in its `status json` object under `usage` (std.agent's flow-agent does,
//! from the agent CLI's own report); the engine journals it with the
//! attempt (`stage_finished.usage`), sums it per run (the run summary,
//! `flow show`), and never makes it up: a field nobody reported stays
//! absent.
//!
//! ```json
//! {"status": "DONE", "usage": {"cost_usd": 0.042, "input_tokens": 1200,
//!  "output_tokens": 350, "turns": 3, "model": "…", "session_id": "…"}}
//! ```

use flow_dsl::ir::Budget;
use serde::Serialize;
use serde_json::{Map, Value};
use std::path::Path;

/// One attempt's usage, or a sum of several.
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct Usage {
    /// Cost in US dollars, as the agent CLI reported it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost_usd: Option<f64>,
    /// Input (prompt) tokens, cached ones included.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_tokens: Option<u64>,
    /// Output (completion) tokens.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_tokens: Option<u64>,
    /// Agent turns (model round trips).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub turns: Option<u64>,
    /// The model, for one attempt.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The agent's session id, for one attempt.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
}

impl Usage {
    /// The `usage` object of a status object, if it has one with at least
    /// one known field (numbers must be non-negative and finite).
    pub fn from_status(status: &Map<String, Value>) -> Option<Usage> {
        Usage::from_value(status.get("usage")?)
    }

    /// A usage object as journaled; `None` if it holds nothing known.
    pub fn from_value(v: &Value) -> Option<Usage> {
        let count = |k: &str| v.get(k).and_then(Value::as_u64);
        let text = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        let usage = Usage {
            cost_usd: v
                .get("cost_usd")
                .and_then(Value::as_f64)
                .filter(|c| c.is_finite() && *c >= 0.0),
            input_tokens: count("input_tokens"),
            output_tokens: count("output_tokens"),
            turns: count("turns"),
            model: text("model"),
            session_id: text("session_id"),
        };
        (usage != Usage::default()).then_some(usage)
    }

    /// Adds `other`'s counts and cost (a field known on either side is
    /// known in the sum); model and session id are per attempt, dropped.
    pub fn add(&mut self, other: &Usage) {
        fn sum<T: std::ops::Add<Output = T> + Copy>(a: Option<T>, b: Option<T>) -> Option<T> {
            match (a, b) {
                (Some(a), Some(b)) => Some(a + b),
                (a, b) => a.or(b),
            }
        }
        self.cost_usd = sum(self.cost_usd, other.cost_usd);
        self.input_tokens = sum(self.input_tokens, other.input_tokens);
        self.output_tokens = sum(self.output_tokens, other.output_tokens);
        self.turns = sum(self.turns, other.turns);
        self.model = None;
        self.session_id = None;
    }

    /// The sum of `usages`; `None` if none is known.
    pub fn total<'a>(usages: impl IntoIterator<Item = &'a Usage>) -> Option<Usage> {
        let mut total: Option<Usage> = None;
        for u in usages {
            total.get_or_insert_with(Usage::default).add(u);
        }
        total
    }

    /// `$0.042, 1200 input + 350 output tokens, 3 turns` (known parts only).
    pub fn summary(&self) -> String {
        let mut parts = Vec::new();
        if let Some(c) = self.cost_usd {
            parts.push(format!("${c:.3}"));
        }
        match (self.input_tokens, self.output_tokens) {
            (Some(i), Some(o)) => parts.push(format!("{i} input + {o} output tokens")),
            (Some(i), None) => parts.push(format!("{i} input tokens")),
            (None, Some(o)) => parts.push(format!("{o} output tokens")),
            (None, None) => {}
        }
        if let Some(t) = self.turns {
            parts.push(format!("{t} turn{}", if t == 1 { "" } else { "s" }));
        }
        parts.join(", ")
    }
}

impl Usage {
    /// Input plus output tokens, if either is known.
    pub fn tokens(&self) -> Option<u64> {
        match (self.input_tokens, self.output_tokens) {
            (None, None) => None,
            (i, o) => Some(i.unwrap_or(0).saturating_add(o.unwrap_or(0))),
        }
    }

    /// The usage an attempt reported so far in its `$FLOW_USAGE_FILE` (a
    /// JSON object like a status object's `usage`, rewritten whole as it
    /// grows); `None` when the file is absent, unreadable, not a regular
    /// file (a FIFO there is never waited on: opened non-blocking, then
    /// refused) or holds nothing known. Only the first 64 KiB are read.
    pub fn read_file(path: &Path) -> Option<Usage> {
        use std::io::Read;
        use std::os::unix::fs::OpenOptionsExt;
        let file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_NONBLOCK)
            .open(path)
            .ok()?;
        if !file.metadata().ok()?.is_file() {
            return None;
        }
        let mut text = Vec::new();
        file.take(64 * 1024).read_to_end(&mut text).ok()?;
        Usage::from_value(&serde_json::from_slice(&text).ok()?)
    }
}

/// What an attempt may still use before it crosses a budget: for each unit,
/// the least of what its stage's `budget` and the flow's leave (may be
/// negative: crossed already). See docs/language.md "Budget".
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Allowance {
    /// US dollars left.
    pub usd: Option<f64>,
    /// Tokens (input + output) left.
    pub tokens: Option<f64>,
}

impl Allowance {
    /// The allowance under `stage`'s budget given what the stage used so
    /// far (`stage_used`), and under the flow's given what the run used;
    /// `None` when neither has a budget.
    pub fn new(
        stage: Option<&Budget>,
        stage_used: Option<&Usage>,
        flow: Option<&Budget>,
        run_used: Option<&Usage>,
    ) -> Option<Allowance> {
        if stage.is_none() && flow.is_none() {
            return None;
        }
        fn least(a: Option<f64>, b: Option<f64>) -> Option<f64> {
            match (a, b) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            }
        }
        let left = |budget: Option<&Budget>, used: Option<&Usage>| {
            let used = used.cloned().unwrap_or_default();
            Allowance {
                usd: budget
                    .and_then(|b| b.usd)
                    .map(|b| b - used.cost_usd.unwrap_or(0.0)),
                tokens: budget
                    .and_then(|b| b.tokens)
                    .map(|b| b as f64 - used.tokens().unwrap_or(0) as f64),
            }
        };
        let (s, f) = (left(stage, stage_used), left(flow, run_used));
        Some(Allowance {
            usd: least(s.usd, f.usd),
            tokens: least(s.tokens, f.tokens),
        })
    }

    /// True when `used` (one attempt's) is more than is left in some unit.
    pub fn crossed_by(&self, used: &Usage) -> bool {
        let usd = matches!((self.usd, used.cost_usd), (Some(left), Some(u)) if u > left);
        let tokens =
            matches!((self.tokens, used.tokens()), (Some(left), Some(t)) if t as f64 > left);
        usd || tokens
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_allowance_is_the_least_that_the_stage_and_the_flow_leave() {
        let budget = |usd, tokens| Budget { usd, tokens };
        let used = |cost: f64, tokens: u64| Usage {
            cost_usd: Some(cost),
            input_tokens: Some(tokens),
            ..Usage::default()
        };
        assert_eq!(Allowance::new(None, None, None, None), None);
        let stage = budget(Some(1.0), None);
        let flow = budget(Some(5.0), Some(1000));
        let left = Allowance::new(
            Some(&stage),
            Some(&used(0.25, 10)),
            Some(&flow),
            Some(&used(4.5, 400)),
        )
        .unwrap();
        assert_eq!(left.usd, Some(0.5), "the flow leaves less than the stage");
        assert_eq!(left.tokens, Some(600.0));
        assert!(
            !left.crossed_by(&used(0.5, 600)),
            "reaching is not crossing"
        );
        assert!(left.crossed_by(&used(0.51, 0)));
        assert!(left.crossed_by(&used(0.0, 601)));
        assert!(
            !left.crossed_by(&Usage::default()),
            "nothing reported, nothing crossed"
        );
        // Crossed already: any further use crosses.
        let spent = Allowance::new(None, None, Some(&flow), Some(&used(6.0, 0))).unwrap();
        assert!(spent.crossed_by(&used(0.001, 0)));
    }

    #[test]
    fn a_usage_file_is_read_whole_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("u.json");
        assert_eq!(Usage::read_file(&file), None);
        std::fs::write(&file, r#"{"cost_usd": 0.5, "output_tokens": 3}"#).unwrap();
        assert_eq!(Usage::read_file(&file).unwrap().cost_usd, Some(0.5));
        std::fs::write(&file, r#"{"cost_usd": 0.5, "outp"#).unwrap();
        assert_eq!(Usage::read_file(&file), None);
        // A FIFO is refused at once, never waited on (no writer comes).
        let fifo = dir.path().join("fifo.json");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        assert_eq!(Usage::read_file(&fifo), None);
    }

    #[test]
    fn reads_what_is_reported_and_sums_it() {
        let a = json!({"status": "DONE", "usage": {"cost_usd": 0.5, "input_tokens": 100,
            "output_tokens": 20, "turns": 2, "model": "m", "session_id": "s"}});
        let b = json!({"usage": {"cost_usd": 0.25, "input_tokens": 10, "turns": -1}});
        let a = Usage::from_status(a.as_object().unwrap()).unwrap();
        let b = Usage::from_status(b.as_object().unwrap()).unwrap();
        assert_eq!(a.model.as_deref(), Some("m"));
        assert_eq!(b.turns, None, "a negative count is not a count");
        let total = Usage::total([&a, &b]).unwrap();
        assert_eq!(total.cost_usd, Some(0.75));
        assert_eq!(total.input_tokens, Some(110));
        assert_eq!(total.output_tokens, Some(20));
        assert_eq!(total.turns, Some(2));
        assert_eq!(total.model, None);
        assert_eq!(
            total.summary(),
            "$0.750, 110 input + 20 output tokens, 2 turns"
        );
        assert_eq!(
            Usage::from_status(json!({"usage": {"x": 1}}).as_object().unwrap()),
            None
        );
        assert_eq!(
            Usage::from_status(json!({"usage": {"cost_usd": "1"}}).as_object().unwrap()),
            None
        );
        assert_eq!(Usage::total([]), None);
    }
}

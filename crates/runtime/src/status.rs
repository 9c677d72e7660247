//! Structured status (`status json` stages): the last JSON object with a
//! `"status"` key in the stage's stdout.
//!
//! The object may stand on its own line, be embedded in a line
//! (`result: {"status":"DONE","x":{"y":1}}`), or span several lines (pretty
//! printed). Only a bounded tail of stdout is kept ([`Tail`]); at the end
//! [`find_status`] tries every `{` from the end with serde_json's streaming
//! deserializer, which parses one value and ignores what follows it.

use serde_json::{Deserializer, Value};

/// How much of stdout is kept for the status scan.
pub const TAIL_BYTES: usize = 256 * 1024;

/// At most this many `{` candidates are tried (bounds the scan on
/// pathological output full of braces).
const MAX_CANDIDATES: usize = 20_000;

/// A bounded tail of a byte stream: keeps at least the last `cap` bytes,
/// holding at most `2 × cap` (amortised O(1) per byte).
#[derive(Debug)]
pub struct Tail {
    buf: Vec<u8>,
    cap: usize,
}

impl Tail {
    /// A tail keeping the last `cap` bytes.
    pub fn new(cap: usize) -> Tail {
        Tail {
            buf: Vec::new(),
            cap,
        }
    }

    /// Appends bytes, dropping the oldest beyond the bound.
    pub fn push(&mut self, bytes: &[u8]) {
        if bytes.len() >= self.cap {
            self.buf.clear();
            self.buf.extend_from_slice(&bytes[bytes.len() - self.cap..]);
            return;
        }
        if self.buf.len() + bytes.len() > 2 * self.cap {
            let drop = self.buf.len() + bytes.len() - self.cap;
            self.buf.drain(..drop.min(self.buf.len()));
        }
        self.buf.extend_from_slice(bytes);
    }

    /// The kept bytes (at least the last `cap`, when that many were pushed).
    pub fn bytes(&self) -> &[u8] {
        &self.buf
    }
}

/// The `links` a status object sets (`{"status": "DONE", "links": {"pr":
/// "https://…/pull/7", "branch": "ai/42"}}`): each string (or number, as
/// text) value by its name; other values are ignored. `None` when there is
/// no `links` object or it holds nothing usable.
pub fn links(
    status: &serde_json::Map<String, Value>,
) -> Option<std::collections::BTreeMap<String, String>> {
    let links: std::collections::BTreeMap<String, String> = status
        .get("links")?
        .as_object()?
        .iter()
        .filter_map(|(name, v)| match v {
            Value::String(s) => Some((name.clone(), s.clone())),
            Value::Number(n) => Some((name.clone(), n.to_string())),
            _ => None,
        })
        .collect();
    (!links.is_empty()).then_some(links)
}

/// The last JSON object with a `"status"` key in `text`, if any.
///
/// When the objects found nest, the outermost one carrying `"status"` wins
/// (`{"status":"A","sub":{"status":"B"}}` gives the `A` object).
pub fn find_status(text: &[u8]) -> Option<serde_json::Map<String, Value>> {
    // (start, end, object) of the best match so far.
    let mut found: Option<(usize, usize, serde_json::Map<String, Value>)> = None;
    let mut end = text.len();
    let mut tried = 0;
    while let Some(i) = memchr::memrchr(b'{', &text[..end]) {
        end = i;
        tried += 1;
        if tried > MAX_CANDIDATES {
            break;
        }
        let mut stream = Deserializer::from_slice(&text[i..]).into_iter::<Value>();
        let Some(Ok(Value::Object(obj))) = stream.next() else {
            continue;
        };
        let obj_end = i + stream.byte_offset();
        match &found {
            None => {
                if obj.contains_key("status") {
                    found = Some((i, obj_end, obj));
                }
            }
            Some((start, fend, _)) => {
                if obj_end <= *start {
                    // A complete object before the match: nothing earlier can
                    // enclose the match any more.
                    break;
                }
                if obj_end >= *fend && obj.contains_key("status") {
                    found = Some((i, obj_end, obj));
                }
            }
        }
    }
    found.map(|(_, _, obj)| obj)
}

/// The `status` field as text: strings as they are, other JSON as JSON.
pub fn status_text(obj: &serde_json::Map<String, Value>) -> Option<String> {
    match obj.get("status")? {
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn links_keep_text_and_numbers_and_ignore_the_rest() {
        let status = serde_json::json!({"status": "DONE", "links": {
            "pr": "https://x/pull/7", "issue": 42, "bad": {"a": 1}}});
        let found = links(status.as_object().unwrap()).unwrap();
        assert_eq!(found.len(), 2);
        assert_eq!(found["pr"], "https://x/pull/7");
        assert_eq!(found["issue"], "42");
        assert!(links(serde_json::json!({"status": "X"}).as_object().unwrap()).is_none());
        let empty = serde_json::json!({"status": "X", "links": {"a": null}});
        assert!(links(empty.as_object().unwrap()).is_none());
    }
    use super::*;

    fn status(s: &str) -> Option<String> {
        find_status(s.as_bytes()).and_then(|o| status_text(&o))
    }

    #[test]
    fn object_on_its_own_line() {
        assert_eq!(
            status("working\n{\"status\":\"DONE\"}\n").as_deref(),
            Some("DONE")
        );
    }

    #[test]
    fn last_object_wins() {
        let s = "{\"status\":\"A\"}\nmore\n{\"status\":\"B\"}\ntrailing text\n";
        assert_eq!(status(s).as_deref(), Some("B"));
    }

    #[test]
    fn embedded_in_a_line_with_nested_braces() {
        let s = "result: {\"status\":\"DONE\",\"x\":{\"y\":1}} (ok)\n";
        let obj = find_status(s.as_bytes()).unwrap();
        assert_eq!(obj["status"], "DONE");
        assert_eq!(obj["x"]["y"], 1);
    }

    #[test]
    fn spans_lines() {
        let s = "log\n{\n  \"status\": \"BLOCKED\",\n  \"why\": \"no {tests}\"\n}\nbye\n";
        let obj = find_status(s.as_bytes()).unwrap();
        assert_eq!(obj["status"], "BLOCKED");
        assert_eq!(obj["why"], "no {tests}");
    }

    #[test]
    fn outermost_status_object_wins_over_nested() {
        let s = "{\"status\":\"A\",\"sub\":{\"status\":\"B\"}}";
        assert_eq!(status(s).as_deref(), Some("A"));
    }

    #[test]
    fn later_objects_without_status_are_ignored() {
        let s = "{\"status\":\"A\"}\n{\"other\":1}\n{broken\n";
        assert_eq!(status(s).as_deref(), Some("A"));
    }

    #[test]
    fn nothing_found() {
        assert_eq!(status(""), None);
        assert_eq!(status("no json here {"), None);
        assert_eq!(status("{\"x\":1}"), None);
        assert_eq!(status("[{\"nostatus\":true}]"), None);
    }

    #[test]
    fn non_string_status_is_rendered_as_json() {
        assert_eq!(status("{\"status\":3}").as_deref(), Some("3"));
    }

    #[test]
    fn invalid_utf8_around_the_object_is_fine() {
        let mut s = b"\xff\xfe garbage ".to_vec();
        s.extend_from_slice(b"{\"status\":\"OK\"}\n\xff");
        assert_eq!(
            find_status(&s).and_then(|o| status_text(&o)).as_deref(),
            Some("OK")
        );
    }

    #[test]
    fn tail_keeps_the_last_bytes() {
        let mut t = Tail::new(8);
        for chunk in [&b"0123"[..], b"4567", b"89ab", b"cdef", b"gh"] {
            t.push(chunk);
        }
        assert!(t.bytes().ends_with(b"89abcdefgh"[2..].as_ref()));
        assert!(t.bytes().len() >= 8 && t.bytes().len() <= 16);
        t.push(b"0123456789ABCDEF");
        assert_eq!(t.bytes(), b"89ABCDEF");
    }
}

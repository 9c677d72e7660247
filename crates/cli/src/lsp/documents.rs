//! The open documents: their text, their latest check, when the next check
//! is due, and publishing its diagnostics.

use super::analysis::Analysis;
use super::shellcheck_worker::{Job, Published, Worker};
use super::text::{uri_to_path, Encoding, Lines};
use super::workspace::{canonical, Source};
use super::{diagnostics, notification, DEBOUNCE, MAX_DELAY};
use crossbeam_channel::Sender;
use flow_dsl::CheckOptions;
use lsp_server::Message;
use lsp_types::notification::PublishDiagnostics;
use lsp_types::{PublishDiagnosticsParams, TextDocumentContentChangeEvent, Uri};
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;

/// One open document.
struct Document {
    uri: Uri,
    /// Where it is (relative `use` paths and skills resolve from its
    /// folder); a document that is no file is taken to be in the current
    /// folder.
    path: PathBuf,
    text: String,
    version: i32,
    /// The check of `text`, unless a change is pending.
    analysis: Option<Analysis>,
    /// The first and the last unchecked change.
    pending: Option<(Instant, Instant)>,
    /// Other files (libraries) it published diagnostics to last time.
    others: Vec<Uri>,
}

/// What a request about a document sees: its latest check, and positions.
pub struct Context<'a> {
    /// The check of the document's current text.
    pub analysis: &'a Analysis,
    /// The document.
    pub uri: &'a Uri,
    /// Positions in its text.
    pub lines: Lines<'a>,
    /// The position encoding agreed with the client.
    pub encoding: Encoding,
}

/// Every open document.
pub struct Documents {
    encoding: Encoding,
    sender: Sender<Message>,
    open: HashMap<String, Document>,
    options: CheckOptions,
    shellcheck: Option<Worker>,
    published: Published,
}

impl Documents {
    /// No document yet; diagnostics go to `sender`. shellcheck is used when
    /// it is on PATH (as `flow check --shellcheck auto`).
    pub fn new(encoding: Encoding, sender: Sender<Message>) -> Documents {
        let published = Published::default();
        let shellcheck = crate::shellcheck::Shellcheck::find(crate::shellcheck::Mode::Auto)
            .ok()
            .flatten()
            .map(|sc| Worker::start(sc, sender.clone(), published.clone(), encoding));
        Documents {
            encoding,
            sender,
            open: HashMap::new(),
            options: CheckOptions {
                scripts: shellcheck.is_some(),
            },
            shellcheck,
            published,
        }
    }

    /// A document was opened: check it now.
    pub fn open(&mut self, uri: Uri, text: String, version: i32) {
        let path = uri_to_path(&uri).unwrap_or_else(|| {
            std::env::current_dir()
                .unwrap_or_default()
                .join("untitled.flow")
        });
        let key = uri.as_str().to_string();
        let doc = self.open.entry(key.clone()).or_insert(Document {
            uri,
            path,
            text: String::new(),
            version,
            analysis: None,
            pending: None,
            others: Vec::new(),
        });
        doc.text = text;
        doc.version = version;
        doc.pending = Some((Instant::now(), Instant::now()));
        self.check(&key);
    }

    /// A document changed: check it once changes pause ([`DEBOUNCE`]).
    /// The server asks for whole texts, but a change with a range (a client
    /// that syncs increments anyway) is applied to the text, in order.
    pub fn change(
        &mut self,
        uri: &Uri,
        changes: Vec<TextDocumentContentChangeEvent>,
        version: i32,
    ) {
        let Some(doc) = self.open.get_mut(uri.as_str()) else {
            return; // a change to a document never opened: nothing to check
        };
        for change in changes {
            match change.range {
                None => doc.text = change.text,
                Some(range) => {
                    let span = Lines::new(&doc.text, self.encoding).span(range);
                    doc.text
                        .replace_range(span.start..span.end.max(span.start), &change.text);
                }
            }
        }
        doc.version = version;
        doc.analysis = None;
        let now = Instant::now();
        doc.pending = Some(match doc.pending {
            Some((first, _)) => (first, now),
            None => (now, now),
        });
    }

    /// A document was closed: its diagnostics are cleared.
    pub fn close(&mut self, uri: &Uri) {
        let Some(doc) = self.open.remove(uri.as_str()) else {
            return;
        };
        self.published.forget(uri);
        for target in std::iter::once(doc.uri).chain(doc.others) {
            self.publish(target, Vec::new(), None);
        }
    }

    /// When the next pending check is due.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.open
            .values()
            .filter_map(|d| d.pending)
            .map(|(first, last)| (last + DEBOUNCE).min(first + MAX_DELAY))
            .min()
    }

    /// Checks every document whose check is due at `now`.
    pub fn check_due(&mut self, now: Instant) {
        let due: Vec<String> = self
            .open
            .iter()
            .filter(|(_, d)| {
                d.pending
                    .is_some_and(|(first, last)| (last + DEBOUNCE).min(first + MAX_DELAY) <= now)
            })
            .map(|(k, _)| k.clone())
            .collect();
        for key in due {
            self.check(&key);
        }
    }

    /// Every open document's current text, for requests that read the
    /// workspace (a document without a file is left out: no other file can
    /// `use` it).
    pub fn sources(&self) -> Vec<Source> {
        self.open
            .values()
            .filter(|d| uri_to_path(&d.uri).is_some())
            .map(|d| Source {
                uri: d.uri.clone(),
                path: canonical(&d.path),
                text: d.text.clone(),
            })
            .collect()
    }

    /// The context of a request about `uri`, checking a pending change
    /// first; `None` when it is not open.
    pub fn context(&mut self, uri: &Uri) -> Option<Context<'_>> {
        let key = uri.as_str().to_string();
        if self.open.get(&key)?.pending.is_some() {
            self.check(&key);
        }
        let doc = self.open.get(&key)?;
        let analysis = doc.analysis.as_ref()?;
        Some(Context {
            analysis,
            uri: &doc.uri,
            lines: Lines::new(analysis.text(), self.encoding),
            encoding: self.encoding,
        })
    }

    /// Checks the document `key` and publishes its diagnostics.
    fn check(&mut self, key: &str) {
        let Some(doc) = self.open.get_mut(key) else {
            return;
        };
        doc.pending = None;
        let analysis = Analysis::new(&doc.path, &doc.text, self.options);
        let files = diagnostics::by_file(
            &analysis.files(),
            &analysis.checked.diagnostics,
            &doc.uri,
            self.encoding,
        );
        let version = doc.version;
        let uri = doc.uri.clone();
        let stale: Vec<Uri> = doc
            .others
            .iter()
            .filter(|u| !files.iter().any(|(f, _)| f == *u))
            .cloned()
            .collect();
        doc.others = files
            .iter()
            .map(|(u, _)| u.clone())
            .filter(|u| *u != uri)
            .collect();
        let job =
            (self.shellcheck.is_some() && !analysis.checked.scripts.is_empty()).then(|| Job {
                uri: uri.clone(),
                version,
                checked: analysis.checked.clone(),
                main: analysis.main,
                path: doc.path.clone(),
                embedded: analysis.embedded.clone(),
            });
        doc.analysis = Some(analysis);
        {
            // Under the lock: a shellcheck answer for an older version
            // cannot be sent after these.
            let _guard = self.published.set(&uri, version);
            for (target, list) in files {
                let v = (target == uri).then_some(version);
                self.publish(target, list, v);
            }
            for target in stale {
                self.publish(target, Vec::new(), None);
            }
        }
        if let (Some(worker), Some(job)) = (&self.shellcheck, job) {
            worker.send(job);
        }
    }

    fn publish(&self, uri: Uri, diagnostics: Vec<lsp_types::Diagnostic>, version: Option<i32>) {
        let params = PublishDiagnosticsParams {
            uri,
            diagnostics,
            version,
        };
        let _ = self.sender.send(notification::<PublishDiagnostics>(params));
    }
}

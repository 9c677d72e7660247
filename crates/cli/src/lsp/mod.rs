//! `flow lsp`: a language server over stdio (JSON-RPC, LSP 3.17) on the
//! same checks as `flow check`.
//!
//! Theory of operation. One thread owns the documents and answers every
//! request in order (lsp-server's reader and writer threads move the
//! bytes). Documents are synced whole (`TextDocumentSyncKind::FULL`). A
//! document is checked when opened, and after a change once no further
//! change has come for [`DEBOUNCE`] (but at most [`MAX_DELAY`] after the
//! first unchecked change, so steady typing still sees results); a request
//! on a document with an unchecked change checks it first, so answers are
//! always about the text the editor has. The check is `flow check`'s
//! (`crate::libs::load_file` + `flow_dsl::check_loaded`): the editor shows
//! exactly what `flow check` prints for the unsaved text. shellcheck, when
//! installed, runs on a worker thread (`shellcheck_worker`): the check's
//! diagnostics are published at once, and again with shellcheck's findings
//! when they come, unless the document changed meanwhile.
//!
//! A template's references and rename look beyond the document: through
//! every `*.flow` file of the workspace folders named in `initialize`
//! (`workspace`), each loaded as its own document would be, open documents'
//! unsaved texts winning over the disk (`template_refs`). Without a
//! workspace folder they stay in the document.
//!
//! One file per concern: `documents` (open texts), `analysis` (a checked
//! text), `diagnostics`, `hover`, `navigation` (definition, references,
//! rename), `template_refs` (a template's, across files), `workspace` (its
//! folders and flow files), `completion`, `symbols`, `actions` (quick
//! fixes, formatting), `text` (positions and URIs).

mod actions;
mod analysis;
mod completion;
mod diagnostics;
mod documents;
mod hover;
mod keywords;
mod navigation;
mod shellcheck_worker;
mod symbols;
mod template_refs;
mod text;
mod workspace;

use documents::Documents;
use lsp_server::{Connection, ErrorCode, Message, Notification, Request, Response};
use lsp_types::notification::Notification as _;
use lsp_types::{
    CodeActionKind, CodeActionOptions, CodeActionProviderCapability, CompletionOptions,
    HoverProviderCapability, InitializeParams, OneOf, RenameOptions, ServerCapabilities,
    ServerInfo, TextDocumentSyncCapability, TextDocumentSyncKind, Uri,
};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use text::Encoding;
use workspace::Workspace;

/// How long a document must stay unchanged before it is checked again.
/// Short: a check of a 600-line flow takes a few milliseconds, so this only
/// merges bursts (a paste, an editor's multi-part edit), not typing.
pub const DEBOUNCE: Duration = Duration::from_millis(10);

/// The longest a change waits for its check while changes keep coming.
pub const MAX_DELAY: Duration = Duration::from_millis(200);

/// Serves one client on stdin/stdout until it says `exit`. `Ok` after
/// `shutdown` then `exit`; `Err` (the reason) on a protocol error or an
/// `exit` without `shutdown` (LSP says the exit code is then 1).
pub fn serve() -> Result<(), String> {
    let (connection, io) = Connection::stdio();
    let result = serve_on(&connection);
    drop(connection);
    io.join().map_err(|e| format!("stdio: {e}"))?;
    result
}

/// [`serve`] on any connection (tests use an in-memory one).
pub fn serve_on(connection: &Connection) -> Result<(), String> {
    let (id, params) = connection.initialize_start().map_err(|e| e.to_string())?;
    let params: InitializeParams =
        serde_json::from_value(params).map_err(|e| format!("initialize: {e}"))?;
    let encoding = Encoding::negotiate(
        params
            .capabilities
            .general
            .as_ref()
            .and_then(|g| g.position_encodings.as_deref()),
    );
    let roots = Workspace::roots_of(&params);
    let result = serde_json::json!({
        "capabilities": capabilities(encoding),
        "serverInfo": ServerInfo {
            name: "flow".to_string(),
            version: Some(env!("CARGO_PKG_VERSION").to_string()),
        },
    });
    connection
        .initialize_finish(id, result)
        .map_err(|e| e.to_string())?;
    let mut server = Server {
        connection,
        docs: Documents::new(encoding, connection.sender.clone()),
        roots,
        shutdown: false,
    };
    server.run()
}

/// What the server can do.
fn capabilities(encoding: Encoding) -> ServerCapabilities {
    ServerCapabilities {
        position_encoding: Some(encoding.kind()),
        text_document_sync: Some(TextDocumentSyncCapability::Kind(TextDocumentSyncKind::FULL)),
        hover_provider: Some(HoverProviderCapability::Simple(true)),
        definition_provider: Some(OneOf::Left(true)),
        references_provider: Some(OneOf::Left(true)),
        rename_provider: Some(OneOf::Right(RenameOptions {
            prepare_provider: Some(true),
            work_done_progress_options: Default::default(),
        })),
        completion_provider: Some(CompletionOptions {
            trigger_characters: Some(vec![".".into(), " ".into(), "\"".into(), ":".into()]),
            ..Default::default()
        }),
        document_symbol_provider: Some(OneOf::Left(true)),
        document_formatting_provider: Some(OneOf::Left(true)),
        code_action_provider: Some(CodeActionProviderCapability::Options(CodeActionOptions {
            code_action_kinds: Some(vec![CodeActionKind::QUICKFIX]),
            ..Default::default()
        })),
        ..Default::default()
    }
}

/// The main loop's state.
struct Server<'a> {
    connection: &'a Connection,
    docs: Documents,
    /// The workspace folders from `initialize` (none: documents alone).
    roots: Vec<PathBuf>,
    /// `shutdown` was asked: only `exit` is expected now.
    shutdown: bool,
}

impl Server<'_> {
    fn run(&mut self) -> Result<(), String> {
        loop {
            let message = match self.docs.next_deadline() {
                Some(deadline) => {
                    let wait = deadline.saturating_duration_since(Instant::now());
                    match self.connection.receiver.recv_timeout(wait) {
                        Ok(m) => Some(m),
                        Err(crossbeam_timeout) if crossbeam_timeout.is_timeout() => None,
                        Err(_) => return Err("the client went away without `exit`".into()),
                    }
                }
                None => match self.connection.receiver.recv() {
                    Ok(m) => Some(m),
                    Err(_) => return Err("the client went away without `exit`".into()),
                },
            };
            match message {
                None => self.docs.check_due(Instant::now()),
                Some(Message::Request(req)) => self.request(req),
                Some(Message::Notification(n)) if n.method == "exit" => {
                    return if self.shutdown {
                        Ok(())
                    } else {
                        Err("`exit` without `shutdown`".into())
                    };
                }
                Some(Message::Notification(n)) => self.notification(n),
                Some(Message::Response(_)) => {} // the server sends no requests
            }
        }
    }

    fn notification(&mut self, n: Notification) {
        use lsp_types::notification::{
            DidChangeTextDocument, DidCloseTextDocument, DidOpenTextDocument,
        };
        match n.method.as_str() {
            DidOpenTextDocument::METHOD => {
                if let Ok(p) =
                    n.extract::<lsp_types::DidOpenTextDocumentParams>(DidOpenTextDocument::METHOD)
                {
                    let d = p.text_document;
                    self.docs.open(d.uri, d.text, d.version);
                }
            }
            DidChangeTextDocument::METHOD => {
                if let Ok(p) = n.extract::<lsp_types::DidChangeTextDocumentParams>(
                    DidChangeTextDocument::METHOD,
                ) {
                    self.docs.change(
                        &p.text_document.uri,
                        p.content_changes,
                        p.text_document.version,
                    );
                }
            }
            DidCloseTextDocument::METHOD => {
                if let Ok(p) =
                    n.extract::<lsp_types::DidCloseTextDocumentParams>(DidCloseTextDocument::METHOD)
                {
                    self.docs.close(&p.text_document.uri);
                }
            }
            _ => {} // didSave, didChangeConfiguration…: nothing to do
        }
    }

    fn request(&mut self, req: Request) {
        use lsp_types::request::*;
        if self.shutdown {
            let resp = Response::new_err(
                req.id,
                ErrorCode::InvalidRequest as i32,
                "the server is shutting down".into(),
            );
            self.send(resp);
            return;
        }
        let id = req.id.clone();
        let result: Result<serde_json::Value, String> = match req.method.as_str() {
            Shutdown::METHOD => {
                self.shutdown = true;
                Ok(serde_json::Value::Null)
            }
            HoverRequest::METHOD => self.on::<HoverRequest>(req, |ctx, p| {
                Ok(hover::hover(ctx, p.text_document_position_params.position))
            }),
            GotoDefinition::METHOD => self.on::<GotoDefinition>(req, |ctx, p| {
                Ok(
                    navigation::definition(ctx, p.text_document_position_params.position)
                        .map(lsp_types::GotoDefinitionResponse::Array),
                )
            }),
            References::METHOD => {
                let ws = self.workspace();
                self.on::<References>(req, |ctx, p| {
                    Ok(navigation::references(
                        ctx,
                        &ws,
                        p.text_document_position.position,
                        p.context.include_declaration,
                    ))
                })
            }
            PrepareRenameRequest::METHOD => {
                let ws = self.workspace();
                self.on::<PrepareRenameRequest>(req, |ctx, p| {
                    Ok(navigation::prepare_rename(ctx, &ws, p.position))
                })
            }
            Rename::METHOD => {
                let ws = self.workspace();
                self.on::<Rename>(req, |ctx, p| {
                    let pos = p.text_document_position.position;
                    navigation::rename(ctx, &ws, pos, &p.new_name).map(Some)
                })
            }
            Completion::METHOD => self.on::<Completion>(req, |ctx, p| {
                Ok(completion::complete(ctx, p.text_document_position.position)
                    .map(lsp_types::CompletionResponse::Array))
            }),
            DocumentSymbolRequest::METHOD => self.on::<DocumentSymbolRequest>(req, |ctx, _| {
                Ok(Some(lsp_types::DocumentSymbolResponse::Nested(
                    symbols::symbols(ctx),
                )))
            }),
            CodeActionRequest::METHOD => self.on::<CodeActionRequest>(req, |ctx, p| {
                Ok(Some(actions::quick_fixes(ctx, p.range)))
            }),
            Formatting::METHOD => {
                self.on::<Formatting>(req, |ctx, _| actions::format(ctx).map(Some))
            }
            other => {
                let resp = Response::new_err(
                    id,
                    ErrorCode::MethodNotFound as i32,
                    format!("`flow lsp` does not answer `{other}`"),
                );
                self.send(resp);
                return;
            }
        };
        let resp = match result {
            Ok(value) => Response::new_ok(id, value),
            Err(message) => Response::new_err(id, ErrorCode::RequestFailed as i32, message),
        };
        self.send(resp);
    }

    /// The workspace as it is now: its folders and the open documents'
    /// texts (the files are read only if a request needs them).
    fn workspace(&self) -> Workspace {
        Workspace {
            roots: self.roots.clone(),
            open: self.docs.sources(),
        }
    }

    /// Answers a request about one position or document of an open
    /// document with `answer` (`Err`: a failed request with that message).
    fn on<R>(
        &mut self,
        req: Request,
        answer: impl FnOnce(&documents::Context, R::Params) -> Result<R::Result, String>,
    ) -> Result<serde_json::Value, String>
    where
        R: lsp_types::request::Request,
        R::Params: DocumentParams,
        R::Result: serde::Serialize,
    {
        let params: R::Params =
            serde_json::from_value(req.params).map_err(|e| format!("bad params: {e}"))?;
        let uri = params.uri().clone();
        let Some(ctx) = self.docs.context(&uri) else {
            return Err(format!("`{}` is not open", uri.as_str()));
        };
        serde_json::to_value(answer(&ctx, params)?).map_err(|e| e.to_string())
    }

    fn send(&self, resp: Response) {
        // The writer thread is gone only when the client is: the reader
        // then ends the loop.
        let _ = self.connection.sender.send(resp.into());
    }
}

/// Request params that name one document.
trait DocumentParams: serde::de::DeserializeOwned {
    fn uri(&self) -> &Uri;
}

macro_rules! document_params {
    ($($t:ty => |$p:ident| $e:expr;)*) => {
        $(impl DocumentParams for $t {
            fn uri(&self) -> &Uri {
                let $p = self;
                $e
            }
        })*
    };
}

document_params! {
    lsp_types::HoverParams => |p| &p.text_document_position_params.text_document.uri;
    lsp_types::GotoDefinitionParams => |p| &p.text_document_position_params.text_document.uri;
    lsp_types::ReferenceParams => |p| &p.text_document_position.text_document.uri;
    lsp_types::TextDocumentPositionParams => |p| &p.text_document.uri;
    lsp_types::CompletionParams => |p| &p.text_document_position.text_document.uri;
    lsp_types::DocumentSymbolParams => |p| &p.text_document.uri;
    lsp_types::CodeActionParams => |p| &p.text_document.uri;
    lsp_types::RenameParams => |p| &p.text_document_position.text_document.uri;
    lsp_types::DocumentFormattingParams => |p| &p.text_document.uri;
}

/// Builds a notification (for the documents and the worker).
pub(crate) fn notification<N: lsp_types::notification::Notification>(params: N::Params) -> Message {
    Message::Notification(Notification::new(N::METHOD.to_string(), params))
}

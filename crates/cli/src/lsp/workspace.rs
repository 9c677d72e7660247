//! The workspace: the folders the client opened (`rootUri`,
//! `workspaceFolders`), and the flow files in them, for requests that look
//! beyond one document (a template's references and rename).
//!
//! Files are found on each such request, not watched: a request is rare and
//! a walk of a few hundred files is fast, while a watcher would need the
//! client's file events or a thread. An open document's unsaved text wins
//! over the file on disk.

use super::text::{path_to_uri, uri_to_path};
use lsp_types::{InitializeParams, Uri};
use std::path::{Path, PathBuf};

/// At most this many flow files are read per request (a huge folder opened
/// by mistake must not stall the server).
pub const MAX_FILES: usize = 2000;

/// Folders not walked besides hidden ones (version control, editor
/// settings, caches): build output and packages.
const SKIPPED: [&str; 2] = ["target", "node_modules"];

/// One flow file of the workspace and its current text.
#[derive(Debug, Clone)]
pub struct Source {
    /// Its URI (an open document's as the client sent it).
    pub uri: Uri,
    /// Its path, canonical when it exists.
    pub path: PathBuf,
    /// The open document's text, else the file's.
    pub text: String,
}

/// The workspace folders, and the open documents' texts when a request came.
#[derive(Debug, Clone, Default)]
pub struct Workspace {
    /// The folders (none: the client opened a single file, or none).
    pub roots: Vec<PathBuf>,
    /// The open documents (they win over the disk).
    pub open: Vec<Source>,
}

impl Workspace {
    /// The folders the client names in `initialize`: its workspace folders,
    /// else its `rootUri` (deprecated, still what many clients send).
    pub fn roots_of(params: &InitializeParams) -> Vec<PathBuf> {
        let folders: Vec<PathBuf> = params
            .workspace_folders
            .iter()
            .flatten()
            .filter_map(|f| uri_to_path(&f.uri))
            .collect();
        #[allow(deprecated)] // `rootUri`: the only root older clients send
        let root = params.root_uri.as_ref().and_then(uri_to_path);
        let roots = if folders.is_empty() {
            root.into_iter().collect()
        } else {
            folders
        };
        roots.into_iter().map(|r| canonical(&r)).collect()
    }

    /// Whether there is a workspace to look through.
    pub fn is_empty(&self) -> bool {
        self.roots.is_empty()
    }

    /// Every `*.flow` file under the roots (sorted, at most [`MAX_FILES`]),
    /// with the open documents' texts.
    pub fn files(&self) -> Vec<Source> {
        let mut paths = Vec::new();
        for root in &self.roots {
            walk(root, &mut paths);
        }
        paths.sort();
        paths.dedup();
        paths.truncate(MAX_FILES);
        paths.into_iter().filter_map(|p| self.source(&p)).collect()
    }

    /// The file at `path`: the open document's text, else the disk's.
    pub fn source(&self, path: &Path) -> Option<Source> {
        let path = canonical(path);
        if let Some(open) = self.open.iter().find(|s| s.path == path) {
            return Some(open.clone());
        }
        let text = std::fs::read_to_string(&path).ok()?;
        Some(Source {
            uri: path_to_uri(&path)?,
            path,
            text,
        })
    }
}

/// `path` canonical (symbolic links and `..` resolved) when it exists, so
/// two spellings of one file compare equal; as is otherwise.
pub fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Adds the `*.flow` files below `dir` to `out` (until [`MAX_FILES`]),
/// in name order, not entering skipped or hidden folders nor following
/// symbolic links (no loops).
fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = walkdir::WalkDir::new(dir)
        .follow_links(false)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| {
            let name = e.file_name().to_string_lossy();
            let skipped = name.starts_with('.') || SKIPPED.contains(&name.as_ref());
            e.depth() == 0 || !(e.file_type().is_dir() && skipped)
        });
    for entry in entries.filter_map(Result::ok) {
        if out.len() >= MAX_FILES {
            return;
        }
        let is_flow = entry.file_name().to_string_lossy().ends_with(".flow");
        if entry.file_type().is_file() && is_flow {
            out.push(canonical(entry.path()));
        }
    }
}

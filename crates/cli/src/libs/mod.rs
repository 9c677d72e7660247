//! Git libraries for the `flow` command: `use "git+URL@REV" as name`.
//!
//! The dsl loads libraries but runs no process; [`GitLibraries`] is the
//! [`Fetcher`] it is given. Theory of operation:
//!
//! - **Cache** (`$FLOW_CACHE_DIR`, else `$XDG_CACHE_HOME/flow`, else
//!   `~/.cache/flow`; below it `libs/`): a bare repository per URL
//!   (`git/<key>.git`) that is fetched into, and the files of each commit
//!   used (`trees/<key>-<commit>/`, exported with `git archive`), which are
//!   the library's folder: templates, skills and `bin/` are read in place.
//! - **Lock** (`FLOW.flow.lock` beside the flow, [`lock`]): each source
//!   (`git+URL@REV` as written) → its commit and the SHA-256 of its files.
//! - **Loading** (`flow check`, `run`, `resume`, `graph`): a locked source
//!   whose folder is cached is only hashed, never fetched (no network), and
//!   a hash other than the lock's is an error (F0035), never a silent
//!   switch. A locked source that is not cached is fetched at the locked
//!   commit (not at what the revision names now) and must hash the same. A
//!   source the lock lacks (a new `use`) is fetched and added to the lock,
//!   as cargo does for a new dependency.
//! - **Updating** (`flow update`, [`Mode::Update`]): every source is
//!   fetched, its revision resolved again, and the lock rewritten. Nothing
//!   else changes a pin.
//!
//! Concurrent `flow` processes share the cache: fetching and exporting one
//! URL is serialised by a `flock` on `git/<key>.lock`, and a commit's folder
//! appears at once (exported beside it, then renamed).

pub mod git;
pub mod lock;
pub mod tree;

use flow_dsl::load::git::{FetchError, Fetcher, GitSource};
use flow_dsl::Code;
use lock::{Lock, Pin};
use sha2::{Digest, Sha256};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// How sources are resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Use the lock's pins; add pins for sources it lacks.
    Locked,
    /// Resolve every source again and pin what its revision names now.
    Update,
}

/// The cache folder: `$FLOW_CACHE_DIR`, `$XDG_CACHE_HOME/flow` or
/// `~/.cache/flow` (the first set and not empty).
pub fn cache_root() -> Option<PathBuf> {
    let var = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    var("FLOW_CACHE_DIR")
        .or_else(|| var("XDG_CACHE_HOME").map(|d| d.join("flow")))
        .or_else(|| var("HOME").map(|d| d.join(".cache/flow")))
}

/// What changed for one source, for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The `use` alias.
    pub alias: String,
    /// `git+URL@REV`.
    pub spec: String,
    /// The commit pinned before (`None`: newly pinned).
    pub from: Option<String>,
    /// The commit pinned now.
    pub to: String,
}

/// The git libraries of one flow file: a [`Fetcher`] for the dsl's loader,
/// then [`GitLibraries::finish`] to write the lock.
pub struct GitLibraries {
    mode: Mode,
    /// `<cache root>/libs`, if a cache root is known.
    cache: Option<PathBuf>,
    lock_path: PathBuf,
    /// The lock as read (an unreadable one: its error).
    lock: Result<Lock, String>,
    state: RefCell<State>,
}

/// What the loads through this fetcher did.
#[derive(Default)]
struct State {
    /// Every source asked for (kept in the lock; others are dropped).
    asked: BTreeSet<String>,
    /// Pins resolved or verified in this load.
    pins: BTreeMap<String, Pin>,
    /// Pins that are new or moved.
    changes: Vec<Change>,
    /// Sources fetched because they were not cached.
    fetched: Vec<String>,
}

impl GitLibraries {
    /// The git libraries of the flow file `flow`, its lock beside it.
    pub fn new(flow: &Path, mode: Mode) -> GitLibraries {
        let lock_path = lock::path_for(flow);
        GitLibraries {
            mode,
            cache: cache_root().map(|r| r.join("libs")),
            lock: Lock::read(&lock_path),
            lock_path,
            state: RefCell::new(State::default()),
        }
    }

    /// The lock file's path.
    pub fn lock_path(&self) -> &Path {
        &self.lock_path
    }

    /// Writes the lock when a pin was added or moved, or a source is no
    /// longer used, and returns what changed and what was fetched (one line
    /// each, for the user). Nothing is written for a flow without git
    /// libraries.
    ///
    /// # Errors
    /// The lock cannot be written.
    pub fn finish(self) -> Result<(Vec<Change>, Vec<String>), String> {
        let state = self.state.into_inner();
        if state.asked.is_empty() {
            return Ok((state.changes, state.fetched));
        }
        let old = match self.lock {
            Ok(lock) => lock,
            // Unreadable: every git library was refused (F0035); the file
            // is the user's to fix, never overwritten by a check or a run.
            Err(_) if self.mode == Mode::Locked => return Ok((state.changes, state.fetched)),
            Err(_) => Lock::default(),
        };
        let mut new = Lock {
            version: 1,
            libraries: old.libraries.clone(),
        };
        new.libraries.retain(|spec, _| state.asked.contains(spec));
        new.libraries.extend(state.pins);
        if new != old {
            new.write(&self.lock_path)?;
        }
        Ok((state.changes, state.fetched))
    }

    /// Folders of the cache for `url`: its bare repository, and the key
    /// naming its trees.
    fn places(&self, url: &str) -> Result<(PathBuf, PathBuf, String), FetchError> {
        let Some(cache) = &self.cache else {
            return Err(import(
                "no cache folder: neither FLOW_CACHE_DIR, XDG_CACHE_HOME nor HOME is set".into(),
                "set FLOW_CACHE_DIR to a folder git libraries may be kept in",
            ));
        };
        let digest = Sha256::digest(url.as_bytes());
        let key: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
        let repo = cache.join("git").join(format!("{key}.git"));
        Ok((repo, cache.join("trees"), key))
    }

    /// Serialises work on `url`'s repository across processes.
    fn guard(&self, repo: &Path) -> Result<nix::fcntl::Flock<std::fs::File>, FetchError> {
        let dir = repo.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(|e| cache_error(dir, &e))?;
        let path = repo.with_extension("lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| cache_error(&path, &e))?;
        nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusive)
            .map_err(|(_, e)| cache_error(&path, &std::io::Error::from(e)))
    }

    /// The locked `pin` of `source`: its cached folder, fetched first if
    /// absent, checked against the pin's hash.
    fn locked(&self, alias: &str, source: &GitSource, pin: &Pin) -> Result<PathBuf, FetchError> {
        let spec = source.spec();
        let (repo, trees, key) = self.places(&source.url)?;
        let tree = trees.join(format!("{key}-{}", pin.commit));
        if !tree.is_dir() {
            let _guard = self.guard(&repo)?;
            if !tree.is_dir() {
                git::init(&repo).map_err(|e| fetch_failed(alias, &spec, e))?;
                if !git::has_commit(&repo, &pin.commit) {
                    git::fetch(&repo, &source.url, false)
                        .map_err(|e| fetch_failed(alias, &spec, e))?;
                }
                if !git::has_commit(&repo, &pin.commit) {
                    return Err(FetchError {
                        code: Code::LibraryLock,
                        message: format!(
                            "library `{alias}`: the lock pins commit {}, which `{}` no longer has",
                            short(&pin.commit),
                            source.url
                        ),
                        help: format!(
                            "run `flow update` to pin what `{}` names now, and review the change",
                            source.rev.as_deref().unwrap_or("HEAD")
                        ),
                    });
                }
                export_into(&repo, &pin.commit, &tree)
                    .map_err(|e| fetch_failed(alias, &spec, e))?;
                let mut state = self.state.borrow_mut();
                state.fetched.push(format!(
                    "fetched library `{alias}` ({spec}) at {}",
                    short(&pin.commit)
                ));
                // A moved tag or a branch that went on: said, never followed.
                if let (Some(rev), Ok(now)) = (
                    source.rev.as_deref(),
                    git::resolve(&repo, source.rev.as_deref()),
                ) {
                    if now != pin.commit {
                        state.fetched.push(format!(
                            "note: `{rev}` now names {}; the lock keeps {} (`flow update` moves it)",
                            short(&now),
                            short(&pin.commit)
                        ));
                    }
                }
            }
        }
        let hash = tree::hash(&tree).map_err(|e| cache_error(&tree, &e))?;
        if hash != pin.sha256 {
            return Err(FetchError {
                code: Code::LibraryLock,
                message: format!(
                    "library `{alias}` ({spec}): the files in {} do not match the lock (SHA-256 {}…, locked {}…)",
                    tree.display(),
                    &hash[..12],
                    pin.sha256.get(..12).unwrap_or(&pin.sha256)
                ),
                help: format!(
                    "the cached copy was changed: remove {} (flow fetches commit {} again), or run `flow update` to pin anew",
                    tree.display(),
                    short(&pin.commit)
                ),
            });
        }
        Ok(tree)
    }

    /// Fetches `source`, resolves its revision and pins it.
    fn fresh(
        &self,
        alias: &str,
        source: &GitSource,
        old: Option<&Pin>,
    ) -> Result<(PathBuf, Pin), FetchError> {
        let spec = source.spec();
        let (repo, trees, key) = self.places(&source.url)?;
        let _guard = self.guard(&repo)?;
        let failed = |e| fetch_failed(alias, &spec, e);
        git::init(&repo).map_err(failed)?;
        git::fetch(&repo, &source.url, source.rev.is_none()).map_err(failed)?;
        let commit = git::resolve(&repo, source.rev.as_deref()).map_err(failed)?;
        let tree = trees.join(format!("{key}-{commit}"));
        std::fs::create_dir_all(&trees).map_err(|e| cache_error(&trees, &e))?;
        let tmp = tempfile::Builder::new()
            .prefix(".export-")
            .tempdir_in(&trees)
            .map_err(|e| cache_error(&trees, &e))?;
        git::export(&repo, &commit, tmp.path()).map_err(failed)?;
        let sha256 = tree::hash(tmp.path()).map_err(|e| cache_error(tmp.path(), &e))?;
        let cached_ok = tree.is_dir() && tree::hash(&tree).is_ok_and(|h| h == sha256);
        if !cached_ok {
            if tree.exists() {
                std::fs::remove_dir_all(&tree).map_err(|e| cache_error(&tree, &e))?;
            }
            let tmp = tmp.keep();
            std::fs::rename(&tmp, &tree).map_err(|e| cache_error(&tree, &e))?;
        }
        let pin = Pin { commit, sha256 };
        if old != Some(&pin) {
            self.state.borrow_mut().changes.push(Change {
                alias: alias.to_string(),
                spec,
                from: old.map(|p| p.commit.clone()),
                to: pin.commit.clone(),
            });
        }
        Ok((tree, pin))
    }
}

impl Fetcher for GitLibraries {
    fn fetch(&self, alias: &str, source: &GitSource) -> Result<PathBuf, FetchError> {
        let spec = source.spec();
        self.state.borrow_mut().asked.insert(spec.clone());
        let lock = match (&self.lock, self.mode) {
            (Ok(lock), _) => Some(lock),
            (Err(_), Mode::Update) => None,
            (Err(e), Mode::Locked) => {
                return Err(FetchError {
                    code: Code::LibraryLock,
                    message: format!("library `{alias}`: {e}"),
                    help: format!(
                        "fix or remove {}, then run `flow update` to pin the libraries again",
                        self.lock_path.display()
                    ),
                })
            }
        };
        let old = lock.and_then(|l| l.libraries.get(&spec));
        let (tree, pin) = match (self.mode, old) {
            (Mode::Locked, Some(pin)) => (self.locked(alias, source, pin)?, pin.clone()),
            _ => self.fresh(alias, source, old)?,
        };
        self.state.borrow_mut().pins.insert(spec.clone(), pin);
        match &source.subdir {
            None => Ok(tree),
            Some(dir) if tree.join(dir).is_dir() => Ok(tree.join(dir)),
            Some(dir) => Err(import(
                format!("library `{alias}` ({spec}): the repository has no folder `{dir}` at that revision"),
                "name a folder of the repository after `#`, relative to its root",
            )),
        }
    }
}

/// Exports `commit` into `tree` through a temporary folder beside it, so
/// the folder appears whole or not at all.
fn export_into(repo: &Path, commit: &str, tree: &Path) -> Result<(), String> {
    let parent = tree.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    let tmp = tempfile::Builder::new()
        .prefix(".export-")
        .tempdir_in(parent)
        .map_err(|e| format!("{}: {e}", parent.display()))?;
    git::export(repo, commit, tmp.path())?;
    let tmp = tmp.keep();
    std::fs::rename(&tmp, tree).map_err(|e| format!("{}: {e}", tree.display()))
}

/// The first 12 digits of a commit id.
pub fn short(commit: &str) -> &str {
    commit.get(..12).unwrap_or(commit)
}

fn import(message: String, help: &str) -> FetchError {
    FetchError {
        code: Code::Import,
        message,
        help: help.to_string(),
    }
}

fn fetch_failed(alias: &str, spec: &str, why: String) -> FetchError {
    import(
        format!("cannot fetch library `{alias}` ({spec}): {why}"),
        "check the URL and the revision after `@`, and that `git` can reach the repository (credentials, network)",
    )
}

fn cache_error(path: &Path, e: &std::io::Error) -> FetchError {
    import(
        format!("library cache {}: {e}", path.display()),
        "set FLOW_CACHE_DIR to a writable folder, or free some space",
    )
}

/// Loads and checks the flow file `path` (its text, when already read),
/// git libraries pinned by its lock ([`Mode::Locked`]); a pin added is
/// written to the lock. What was fetched or pinned is said on stderr.
pub fn check_file(
    path: &Path,
    text: Option<&str>,
    options: flow_dsl::CheckOptions,
) -> flow_dsl::Checked {
    flow_dsl::check_loaded(load_file(path, text), options)
}

/// Loads the flow file `path` (its text, when already read) and its
/// libraries as [`check_file`] does, for a caller that keeps the syntax
/// tree (`flow lsp`) before checking it with [`flow_dsl::check_loaded`].
pub fn load_file(path: &Path, text: Option<&str>) -> flow_dsl::load::Loaded {
    let libs = GitLibraries::new(path, Mode::Locked);
    let parse: flow_dsl::load::ParseFn = &flow_dsl::parse::parse;
    let loaded = match text {
        Some(text) => {
            let base = path.parent().unwrap_or(Path::new(""));
            let name = path.display().to_string();
            flow_dsl::load::load_source_with(&name, text, base, parse, Some(&libs))
        }
        None => flow_dsl::load::load_file_with(path, parse, Some(&libs)),
    };
    let lock_path = libs.lock_path().to_path_buf();
    match libs.finish() {
        Ok((changes, fetched)) => {
            for line in fetched {
                eprintln!("{line}");
            }
            for c in changes {
                eprintln!(
                    "pinned library `{}` ({}) at {} in {}",
                    c.alias,
                    c.spec,
                    short(&c.to),
                    lock_path.display()
                );
            }
        }
        Err(e) => eprintln!("error: {e}"),
    }
    loaded
}

//! Libraries from git repositories: `use "git+URL[@REV]" as name`.
//!
//! The dsl runs no process, so fetching is not done here: the loader hands
//! the parsed source to a [`Fetcher`] (the `flow` command's runs `git`,
//! keeps a cache and a lock file) and loads the folder it answers with like
//! any library folder.

use crate::diagnostic::Code;
use std::path::PathBuf;

/// The prefix that makes a `use` path a git library.
pub const PREFIX: &str = "git+";

/// A parsed `git+URL[@REV]` library source.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GitSource {
    /// The repository as git reads it (`https://host/org/skills`,
    /// `file:///srv/skills.git`): the text after `git+`, without `@REV`.
    pub url: String,
    /// The revision asked for (a tag, branch or commit); `None` means the
    /// repository's default branch (`HEAD`).
    pub rev: Option<String>,
    /// `#DIR` after the revision: the library is that folder of the
    /// repository (relative, without `..`); `None`: its root.
    pub subdir: Option<String>,
}

impl GitSource {
    /// Parses the text of a `use` path. `None` when it does not start with
    /// `git+` (a folder path); `Some(Err(why))` when it does but is not a
    /// usable source.
    ///
    /// The revision is the text after the last `@` of the URL's path (the
    /// part after the host), so `git+ssh://git@host/org/repo@v1` is the
    /// repository `ssh://git@host/org/repo` at `v1`.
    pub fn parse(text: &str) -> Option<Result<GitSource, String>> {
        let rest = text.strip_prefix(PREFIX)?;
        Some(Self::parse_url(rest))
    }

    fn parse_url(rest: &str) -> Result<GitSource, String> {
        let (rest, subdir) = match rest.split_once('#') {
            Some((rest, dir)) => {
                let clean = dir.trim_end_matches('/');
                let bad = clean.is_empty()
                    || clean.starts_with('/')
                    || clean
                        .split('/')
                        .any(|p| p.is_empty() || p == "." || p == "..");
                if bad {
                    return Err(format!(
                        "`#{dir}` is not a folder of the repository: write a relative path such as `#libs/review`"
                    ));
                }
                (rest, Some(clean.to_string()))
            }
            None => (rest, None),
        };
        let Some((scheme, after)) = rest.split_once("://") else {
            return Err(format!(
                "`{rest}` is not a URL: write `git+https://host/org/repo@REV` or `git+file:///path/to/repo@REV`"
            ));
        };
        if !matches!(scheme, "https" | "http" | "ssh" | "file" | "git") {
            return Err(format!(
                "unsupported scheme `{scheme}`: use https, ssh, git, http or file"
            ));
        }
        // The path starts at the first `/` after the host (`file:///p` has
        // an empty host).
        let path_start = after.find('/').map_or(after.len(), |i| i);
        let (host, path) = after.split_at(path_start);
        let (path, rev) = match path.rfind('@') {
            Some(at) => (&path[..at], Some(&path[at + 1..])),
            None => (path, None),
        };
        if path.trim_matches('/').is_empty() {
            return Err(format!("`{rest}` names no repository"));
        }
        let rev = match rev {
            Some("") => return Err("empty revision after `@`".into()),
            Some(r) if r.starts_with('-') || r.chars().any(char::is_whitespace) => {
                return Err(format!("`{r}` is not a revision"))
            }
            Some(r) => Some(r.to_string()),
            None => None,
        };
        Ok(GitSource {
            url: format!("{scheme}://{host}{path}"),
            rev,
            subdir,
        })
    }

    /// The source as written in a `use`: `git+URL@REV#DIR` (without `@` or
    /// `#` when not given). Lock files are keyed by it.
    pub fn spec(&self) -> String {
        let mut spec = format!("{PREFIX}{}", self.url);
        if let Some(rev) = &self.rev {
            spec = format!("{spec}@{rev}");
        }
        if let Some(dir) = &self.subdir {
            spec = format!("{spec}#{dir}");
        }
        spec
    }
}

/// Why a git library could not be given: reported as a diagnostic with this
/// code on the `use` path.
#[derive(Debug, Clone, PartialEq)]
pub struct FetchError {
    /// [`Code::Import`] when it cannot be fetched; [`Code::LibraryLock`]
    /// when what was fetched or cached does not match the lock file.
    pub code: Code,
    /// One sentence: what went wrong.
    pub message: String,
    /// How to fix it.
    pub help: String,
}

/// Gives the folder holding a git library's files at the revision its lock
/// pins (fetching it first if need be). Implemented by the `flow` command.
pub trait Fetcher {
    /// The library `alias` from `source`: a folder on disk whose files must
    /// not change while it is used.
    ///
    /// # Errors
    /// A [`FetchError`] the loader reports on the `use` path.
    fn fetch(&self, alias: &str, source: &GitSource) -> Result<PathBuf, FetchError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> GitSource {
        GitSource::parse(text).unwrap().unwrap()
    }

    #[test]
    fn url_and_revision_are_split_at_the_last_at_of_the_path() {
        let s = ok("git+https://host/org/skills@v1.2");
        assert_eq!(
            (s.url.as_str(), s.rev.as_deref()),
            ("https://host/org/skills", Some("v1.2"))
        );
        let s = ok("git+ssh://git@host/org/repo@release/1.0");
        assert_eq!(s.url, "ssh://git@host/org/repo");
        assert_eq!(s.rev.as_deref(), Some("release/1.0"));
        let s = ok("git+file:///srv/skills.git");
        assert_eq!(
            (s.url.as_str(), s.rev.as_deref()),
            ("file:///srv/skills.git", None)
        );
        assert_eq!(s.spec(), "git+file:///srv/skills.git");
        assert_eq!(ok("git+file:///a/b@v1").spec(), "git+file:///a/b@v1");
        let s = ok("git+https://host/org/mono@v2#libs/review/");
        assert_eq!(s.subdir.as_deref(), Some("libs/review"));
        assert_eq!(s.rev.as_deref(), Some("v2"));
        assert_eq!(s.spec(), "git+https://host/org/mono@v2#libs/review");
    }

    #[test]
    fn folders_are_not_git_sources_and_bad_ones_say_why() {
        assert!(GitSource::parse("../lib").is_none());
        for bad in [
            "git+host/org/repo",
            "git+ftp://host/repo",
            "git+https://host",
            "git+https://host/repo@",
            "git+https://host/repo@--upload-pack=x",
            "git+https://host/repo@v1#../up",
            "git+https://host/repo@v1#/abs",
            "git+https://host/repo@v1#",
        ] {
            assert!(GitSource::parse(bad).unwrap().is_err(), "{bad}");
        }
    }
}

//! The flows a server serves: every `.flow` file under its paths, checked.
//! A file that checks clean (errors only: warnings do not stop it) is
//! served under its flow's name; any other is listed broken with its
//! diagnostics, as `flow check --format json` gives them.

use flow_dsl::ir::Pipeline;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// One served flow.
#[derive(Debug, Clone)]
pub struct Served {
    /// The `.flow` file, absolute.
    pub file: PathBuf,
    /// The checked flow.
    pub pipeline: Arc<Pipeline>,
}

/// A file that is not served, and why.
#[derive(Debug, Clone)]
pub struct Broken {
    /// The `.flow` file.
    pub file: PathBuf,
    /// Its diagnostics (JSON objects, see docs/cli.md "JSON report"); for a
    /// problem that is not a diagnostic (a name served twice, an unreadable
    /// path), one object with `message` only.
    pub diagnostics: Vec<Value>,
}

/// Everything the server found under its paths.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    /// Served flows by name.
    pub flows: BTreeMap<String, Served>,
    /// Files not served.
    pub broken: Vec<Broken>,
}

impl Catalog {
    /// Finds and checks every `.flow` file under `paths` (see the module
    /// docs). A file without a `flow` block (a library) is neither.
    pub fn load(paths: &[PathBuf]) -> Catalog {
        let found = crate::files::flow_files(paths);
        let mut catalog = Catalog::default();
        for error in found.errors {
            catalog.broken.push(Broken {
                file: PathBuf::from(error.split(':').next().unwrap_or_default()),
                diagnostics: vec![json!({ "message": error })],
            });
        }
        for file in found.files {
            let file = std::path::absolute(&file).unwrap_or(file);
            catalog.add(&file);
        }
        catalog
    }

    fn add(&mut self, file: &Path) {
        let checked = crate::libs::check_file(file, None, flow_dsl::CheckOptions::default());
        let errors: Vec<Value> = checked
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .map(|d| crate::report::json::object(d, &checked.sources))
            .collect();
        if !errors.is_empty() {
            self.broken.push(Broken {
                file: file.to_path_buf(),
                diagnostics: errors,
            });
            return;
        }
        let Some(pipeline) = checked.pipeline else {
            return; // a library file
        };
        if let Some(first) = self.flows.get(&pipeline.name) {
            let message = format!(
                "flow `{}` is also defined in {}, which is served",
                pipeline.name,
                first.file.display()
            );
            self.broken.push(Broken {
                file: file.to_path_buf(),
                diagnostics: vec![json!({ "message": message })],
            });
            return;
        }
        self.flows.insert(
            pipeline.name.clone(),
            Served {
                file: file.to_path_buf(),
                pipeline: Arc::new(pipeline),
            },
        );
    }

    /// The broken entry of a file holding flow `name`, if one is named so
    /// (best effort: a broken file has no checked name, so its file stem).
    pub fn broken_named(&self, name: &str) -> Option<&Broken> {
        self.broken
            .iter()
            .find(|b| b.file.file_stem().is_some_and(|s| s == name))
    }
}

//! Turning `flow run FILE --issue 42 --jobs 2` into typed params and run
//! options. The command line is parsed by a clap command built from the
//! flow's declared params, so `flow run FILE --help` lists them and a typo
//! gets clap's "did you mean". Every value is checked against its type before
//! anything runs.

use clap::{Arg, ArgAction, Command};
use flow_dsl::ir::{Param, ParamType, Pipeline, Value};
use std::path::PathBuf;

/// What the command line asked for.
#[derive(Debug)]
pub struct RunArgs {
    /// `--jobs N`: most attempts running at once.
    pub jobs: Option<usize>,
    /// `--quiet`: no live output of stages.
    pub quiet: bool,
    /// `--runs-dir DIR`: where `.flow/runs` lives (default `.flow` in the current folder).
    pub runs_dir: Option<PathBuf>,
    /// `--secrets-file FILE`: `NAME=value` lines for the flow's secrets.
    pub secrets_file: Option<PathBuf>,
    /// The params given on the command line, typed, in declaration order.
    pub params: Vec<(String, Value)>,
    /// `--submitted ID` (hidden; `flow serve` starts its queued runs so):
    /// take over the submitted run ID, its params from its submission.
    pub submitted: Option<String>,
}

/// Parses `args` (everything after FILE) against `pipeline`'s params.
///
/// Errors: a clap error (unknown option, missing required param, bad value),
/// printed by the caller with `.exit()` semantics (exit 2; `--help` exits 0).
pub fn parse(pipeline: &Pipeline, file: &str, args: &[String]) -> Result<RunArgs, clap::Error> {
    // A submitted run's params come from its submission: none is required
    // on the command line.
    let submitted = args
        .iter()
        .any(|a| a == "--submitted" || a.starts_with("--submitted="));
    let cmd = command(pipeline, file, !submitted)?;
    let argv = std::iter::once(format!("flow run {file}")).chain(args.iter().cloned());
    let m = cmd.clone().try_get_matches_from(argv)?;
    // Only the params given: the runtime fills in defaults (and makes `path`
    // values absolute), for every caller alike.
    let mut params = Vec::new();
    for p in &pipeline.params {
        if let Some(raw) = m.get_many::<String>(&p.name) {
            let raw: Vec<&String> = raw.collect();
            let value = parse_value(p.ty, &raw).map_err(|e| {
                cmd.clone().error(
                    clap::error::ErrorKind::ValueValidation,
                    format!("--{}: {e}", p.name),
                )
            })?;
            params.push((p.name.clone(), value));
        }
    }
    Ok(RunArgs {
        jobs: m.get_one::<usize>("jobs").copied(),
        quiet: m.get_flag("quiet"),
        runs_dir: m.get_one::<PathBuf>("runs-dir").cloned(),
        secrets_file: m.get_one::<PathBuf>("secrets-file").cloned(),
        params,
        submitted: m.get_one::<String>("submitted").cloned(),
    })
}

/// The `flow run FILE` command line of `pipeline`: its params and the run
/// options (also what `flow completions` offers after `flow run FILE`).
/// `required`: params without a default must be given (not for a run
/// the server submitted: its params come from the submission).
pub fn command(pipeline: &Pipeline, file: &str, required: bool) -> Result<Command, clap::Error> {
    let mut cmd = Command::new(format!("flow run {file}"))
        .about(
            pipeline
                .description
                .clone()
                .unwrap_or_else(|| format!("Run the flow `{}`", pipeline.name)),
        )
        .bin_name(format!("flow run {file}"))
        .arg(
            Arg::new("jobs")
                .long("jobs")
                .short('j')
                .value_name("N")
                .value_parser(parse_jobs)
                .help("Most stage attempts running at once [default: number of CPUs]"),
        )
        .arg(
            Arg::new("quiet")
                .long("quiet")
                .short('q')
                .action(ArgAction::SetTrue)
                .help("Do not stream stage output"),
        )
        .arg(
            Arg::new("runs-dir")
                .long("runs-dir")
                .value_name("DIR")
                .value_parser(clap::value_parser!(PathBuf))
                .help("Folder holding runs/ [default: .flow]"),
        )
        .arg(
            Arg::new("secrets-file")
                .long("secrets-file")
                .value_name("FILE")
                .value_parser(clap::value_parser!(PathBuf))
                .help("NAME=value lines giving the flow's secrets [default: from the environment]"),
        )
        .arg(
            Arg::new("submitted")
                .long("submitted")
                .value_name("ID")
                .hide(true)
                .help("Start the run submitted to `flow serve` as ID"),
        )
        .next_help_heading("Params of the flow");
    for p in &pipeline.params {
        // `flow check` refuses such a name (F0038); a pipeline built by hand
        // could still have one.
        if flow_dsl::check::is_run_option(&p.name) {
            return Err(Command::new("flow run").error(
                clap::error::ErrorKind::ArgumentConflict,
                format!(
                    "the param `{}` has the name of a run option; rename it in {file}",
                    p.name
                ),
            ));
        }
        cmd = cmd.arg(param_arg(p).required(required && p.default.is_none()));
    }
    Ok(cmd)
}

fn param_arg(p: &Param) -> Arg {
    let mut arg = Arg::new(p.name.clone())
        .long(p.name.clone())
        .value_name(p.ty.to_string().to_uppercase());
    let dashed = p.name.replace('_', "-");
    if dashed != p.name {
        arg = arg.visible_alias(dashed);
    }
    arg = match p.ty {
        ParamType::Bool => arg.num_args(0..=1).default_missing_value("true"),
        ParamType::ListStr => arg.action(ArgAction::Append),
        _ => arg,
    };
    let help = match &p.default {
        Some(d) => format!("{} [default: {}]", p.ty, d.to_env()),
        None => format!("{} (required)", p.ty),
    };
    arg.required(p.default.is_none()).help(help)
}

/// Parses the raw text(s) of one param. A `list<str>` takes comma-separated
/// values and may be repeated.
pub fn parse_value(ty: ParamType, raw: &[&String]) -> Result<Value, String> {
    let one = raw.last().map(|s| s.as_str()).unwrap_or("");
    Ok(match ty {
        ParamType::Int => Value::Int(one.parse().map_err(|_| format!("`{one}` is not an int"))?),
        ParamType::Float => {
            Value::Float(one.parse().map_err(|_| format!("`{one}` is not a float"))?)
        }
        ParamType::Bool => Value::Bool(match one {
            "true" | "yes" | "1" | "on" => true,
            "false" | "no" | "0" | "off" => false,
            _ => return Err(format!("`{one}` is not a bool (true or false)")),
        }),
        ParamType::Duration => Value::Duration(
            humantime::parse_duration(one)
                .map_err(|e| format!("`{one}` is not a duration ({e}); e.g. 30s, 15m, 1h30m"))?,
        ),
        ParamType::ListStr => Value::List(
            raw.iter()
                .flat_map(|r| r.split(','))
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect(),
        ),
        ParamType::Str | ParamType::Path | ParamType::Skill => Value::Str(one.to_string()),
    })
}

/// Params given as JSON (`flow serve`'s `POST /api/runs`): each value a
/// string (parsed as on the command line), a number or bool (its text; a
/// number for a `duration` is seconds), or
/// for `list<str>` an array of strings. Checked like the command line: an
/// unknown name, a bad value or a missing required param is an error
/// naming it.
///
/// # Errors
/// The message, e.g. `--issue: \`x\` is not an int`.
pub fn from_json(
    pipeline: &Pipeline,
    given: &serde_json::Map<String, serde_json::Value>,
) -> Result<Vec<(String, Value)>, String> {
    for name in given.keys() {
        if !pipeline.params.iter().any(|p| p.name == *name) {
            return Err(format!("flow `{}` has no param `{name}`", pipeline.name));
        }
    }
    let mut params = Vec::new();
    for p in &pipeline.params {
        let Some(v) = given.get(&p.name) else {
            if p.default.is_none() {
                return Err(format!("missing required param `{}`", p.name));
            }
            continue;
        };
        let raw: Vec<String> = match v {
            serde_json::Value::String(s) => vec![s.clone()],
            // A duration as a number is seconds, as `run_started` records it.
            serde_json::Value::Number(n) if p.ty == ParamType::Duration => vec![format!("{n}s")],
            serde_json::Value::Number(n) => vec![n.to_string()],
            serde_json::Value::Bool(b) => vec![b.to_string()],
            serde_json::Value::Array(items) if p.ty == ParamType::ListStr => items
                .iter()
                .map(|i| {
                    i.as_str()
                        .map(String::from)
                        .ok_or_else(|| format!("`{}`: a list<str> holds strings, not {i}", p.name))
                })
                .collect::<Result<_, _>>()?,
            other => return Err(format!("`{}`: {other} is not a {}", p.name, p.ty)),
        };
        let raw: Vec<&String> = raw.iter().collect();
        let value = parse_value(p.ty, &raw).map_err(|e| format!("`{}`: {e}", p.name))?;
        params.push((p.name.clone(), value));
    }
    Ok(params)
}

pub(crate) fn parse_jobs(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!("`{s}` is not a positive number of jobs")),
    }
}

//! Turning `flow run FILE --issue 42 --jobs 2` into typed params and run
//! options. The command line is parsed by a clap command built from the
//! flow's declared params, so `flow run FILE --help` lists them and a typo
//! gets clap's "did you mean". Every value is checked against its type before
//! anything runs.

use clap::{Arg, ArgAction, Command};
use flow_dsl::ir::{Param, ParamType, Pipeline, Value};
use std::path::PathBuf;

/// Run options that are not params; a param may not reuse these names.
const RESERVED: &[&str] = &["jobs", "quiet", "runs-dir", "secrets-file", "help"];

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
}

/// Parses `args` (everything after FILE) against `pipeline`'s params.
///
/// Errors: a clap error (unknown option, missing required param, bad value),
/// printed by the caller with `.exit()` semantics (exit 2; `--help` exits 0).
pub fn parse(pipeline: &Pipeline, file: &str, args: &[String]) -> Result<RunArgs, clap::Error> {
    let cmd = command(pipeline, file)?;
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
    })
}

/// The `flow run FILE` command line of `pipeline`: its params and the run
/// options (also what `flow completions` offers after `flow run FILE`).
pub fn command(pipeline: &Pipeline, file: &str) -> Result<Command, clap::Error> {
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
        .next_help_heading("Params of the flow");
    for p in &pipeline.params {
        if RESERVED.contains(&p.name.as_str()) {
            return Err(Command::new("flow run").error(
                clap::error::ErrorKind::ArgumentConflict,
                format!(
                    "the param `{}` has the name of a run option; rename it in {file}",
                    p.name
                ),
            ));
        }
        cmd = cmd.arg(param_arg(p));
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

pub(crate) fn parse_jobs(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!("`{s}` is not a positive number of jobs")),
    }
}

//! `flow-supervisor`: the per-run supervisor process as a program of its
//! own (the `flow` binary runs the same code as `flow __supervisor`). It is
//! started by the engine with a socket on stdin; see
//! `flow_runtime::supervisor`.

fn main() {
    std::process::exit(flow_runtime::supervisor::serve_main());
}

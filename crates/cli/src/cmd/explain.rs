//! `flow explain`.

use super::history::Out;
use flow_dsl::Code;

/// Prints the explanation of `code`, or the list of codes. Exit 0, or 2 for
/// an unknown code. A reader that goes away (`| head`) ends the printing
/// quietly.
pub fn run(code: Option<&str>) -> u8 {
    let mut out = Out::new();
    let severity = |c: Code| format!("{:?}", c.severity()).to_lowercase();
    let Some(text) = code else {
        for &c in Code::ALL {
            if !out.line(&format!("{}  {:<8} {}", c.as_str(), severity(c), c.title())) {
                break;
            }
        }
        return 0;
    };
    match Code::parse(text) {
        Some(c) => {
            out.line(&format!(
                "{} ({}): {}\n",
                c.as_str(),
                severity(c),
                c.title()
            ));
            out.line(c.explanation());
            0
        }
        None => {
            eprintln!("error: unknown diagnostic code `{text}`; `flow explain` lists them all");
            crate::EXIT_USAGE
        }
    }
}

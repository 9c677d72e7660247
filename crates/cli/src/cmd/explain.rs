//! `flow explain CODE`.

use flow_dsl::Code;

/// Prints the explanation of `code`, or the list of codes. Exit 0, or 2 for an unknown code.
pub fn run(code: Option<&str>) -> u8 {
    let Some(text) = code else {
        for c in Code::ALL {
            println!(
                "{}  {:<8} {}",
                c.as_str(),
                format!("{:?}", c.severity()).to_lowercase(),
                c.title()
            );
        }
        return 0;
    };
    match Code::parse(text) {
        Some(c) => {
            println!(
                "{} ({}): {}\n",
                c.as_str(),
                format!("{:?}", c.severity()).to_lowercase(),
                c.title()
            );
            println!("{}", c.explanation());
            0
        }
        None => {
            eprintln!("error: unknown diagnostic code `{text}`; `flow explain` lists them all");
            crate::EXIT_USAGE
        }
    }
}

//! Flows are checked when the program is compiled: a broken flow fails to
//! compile with the flow's diagnostic, a builtin the program does not give
//! is a missing field, and a clean flow compiles to typed params. One
//! trybuild run (it builds a scratch crate: seconds, not minutes).

#[test]
fn flows_are_checked_at_compile_time() {
    let cases = trybuild::TestCases::new();
    cases.pass("tests/pass/*.rs");
    cases.compile_fail("tests/fail/*.rs");
}

//! Where a sub-expression ends in its source, so a label can underline a
//! whole operand (rhai records only where each node starts).

use rhai::Expr;

/// Byte offset just after `e` in `src`, given `local` (a position → byte
/// offset inside `src`). None when it cannot be told (statement blocks).
pub(super) fn end(e: &Expr, src: &str, local: &dyn Fn(rhai::Position) -> usize) -> Option<usize> {
    let at = |pos| local(pos).min(src.len());
    match e {
        Expr::Variable(v, _, pos) => Some(at(*pos) + v.1.len()),
        Expr::Property(p, pos) => Some(at(*pos) + p.2.len()),
        Expr::IntegerConstant(_, pos)
        | Expr::FloatConstant(_, pos)
        | Expr::BoolConstant(_, pos)
        | Expr::CharConstant(_, pos)
        | Expr::StringConstant(_, pos)
        | Expr::InterpolatedString(_, pos)
        | Expr::Unit(pos) => literal_end(src, at(*pos)),
        Expr::Array(_, pos) | Expr::Map(_, pos) => {
            let open = src.get(at(*pos)..)?.find(['[', '{'])? + at(*pos);
            matching(src, open)
        }
        Expr::FnCall(call, pos) | Expr::MethodCall(call, pos) => match call.args.last() {
            Some(last) if call.op_token.is_some() => end(last, src, local),
            _ => {
                let open = src.get(at(*pos)..)?.find('(')? + at(*pos);
                matching(src, open)
            }
        },
        Expr::Dot(chain, ..) => end(&chain.rhs, src, local),
        Expr::Index(chain, ..) => {
            let inner = end(&chain.rhs, src, local)?;
            // `a[i]` ends after the `]`; `a[i].b` ends with `b`.
            match &chain.rhs {
                Expr::Dot(..) | Expr::Index(..) => Some(inner),
                _ => Some(src.get(inner..)?.find(']')? + inner + 1),
            }
        }
        Expr::And(items, _) | Expr::Or(items, _) | Expr::Coalesce(items, _) => {
            end(items.last()?, src, local)
        }
        _ => None,
    }
}

/// End of the literal starting at `start`: a quoted string or char, `()`, or
/// a word (numbers, `true`).
fn literal_end(src: &str, start: usize) -> Option<usize> {
    let rest = src.get(start..)?;
    let first = rest.chars().next()?;
    match first {
        '"' | '\'' | '`' => skip_quoted(src, start),
        '(' => matching(src, start),
        _ => {
            // Words and numbers; a `.` belongs to a number only before a
            // digit (`1.5`, not the method dot of `1.5.floor()`).
            let chars: Vec<(usize, char)> = rest.char_indices().collect();
            let mut len = rest.len();
            for (k, &(i, c)) in chars.iter().enumerate() {
                let digit_next = chars.get(k + 1).is_some_and(|n| n.1.is_ascii_digit());
                let sign = k == 0 && c == '-';
                if !(sign || c.is_alphanumeric() || c == '_' || (c == '.' && digit_next)) {
                    len = i;
                    break;
                }
            }
            Some(start + len)
        }
    }
}

/// The offset after the quoted text opening at `start`.
fn skip_quoted(src: &str, start: usize) -> Option<usize> {
    let quote = src[start..].chars().next()?;
    let mut escaped = false;
    for (i, c) in src[start + quote.len_utf8()..].char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' && quote != '`' {
            escaped = true;
        } else if c == quote {
            return Some(start + quote.len_utf8() + i + c.len_utf8());
        }
    }
    None
}

/// The offset after the bracket closing the one at `open`.
fn matching(src: &str, open: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = open;
    while i < src.len() {
        let c = src[i..].chars().next()?;
        match c {
            '"' | '\'' | '`' => {
                i = skip_quoted(src, i)?;
                continue;
            }
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
        i += c.len_utf8();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_and_brackets() {
        assert_eq!(literal_end("\"a\\\"b\" + 1", 0), Some(6));
        assert_eq!(literal_end("1.5.floor()", 0), Some(3));
        assert_eq!(literal_end("'é' x", 0), Some(4));
        assert_eq!(matching("f(a, \")\", [1]) + 2", 1), Some(14));
        assert_eq!(matching("(unclosed", 0), None);
    }
}

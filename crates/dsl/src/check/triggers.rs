//! `trigger` items (F0037): a `cron` schedule valid in one of the forms of
//! [`ir::CronSchedule`] (the wrong field labelled) that fires at least once,
//! an `every` interval from [`ir::MIN_EVERY`] to [`ir::MAX_EVERY`] (F0007
//! when it is no duration), and no trigger twice. Builds the
//! [`ir::Trigger`]s.

use super::durations;
use crate::ast::{FlowItem, Spanned, TriggerDecl, TriggerKind};
use crate::diagnostic::{Code, Diagnostic};
use crate::ir::{self, CronSchedule, Trigger};
use crate::span::{SourceId, Span};

/// Checks every `trigger` of a flow; returns the valid ones, in source
/// order, without repeats.
pub(crate) fn check(
    items: &[FlowItem],
    src: SourceId,
    diags: &mut Vec<Diagnostic>,
) -> Vec<Trigger> {
    let mut kept: Vec<(Trigger, Span)> = Vec::new();
    for item in items {
        let FlowItem::Trigger(decl) = item else {
            continue;
        };
        let Some(trigger) = one(decl, src, diags) else {
            continue;
        };
        // A repeat would fire twice at the same instants: an error, so the
        // server never has to decide which one counts.
        if let Some((_, first)) = kept.iter().find(|(t, _)| *t == trigger) {
            diags.push(
                Diagnostic::new(
                    Code::BadTrigger,
                    src,
                    decl.span,
                    format!("`trigger {}` repeats another trigger", trigger.text()),
                )
                .label("fires at the same times")
                .secondary(*first, "first here")
                .help("remove one: each trigger of a flow must fire at other times"),
            );
            continue;
        }
        kept.push((trigger, decl.span));
    }
    kept.into_iter().map(|(t, _)| t).collect()
}

fn one(decl: &TriggerDecl, src: SourceId, diags: &mut Vec<Diagnostic>) -> Option<Trigger> {
    match &decl.kind {
        TriggerKind::Cron(text) => cron(text, src, diags).map(Trigger::Cron),
        TriggerKind::Every(lit) => {
            let every = durations::check(lit, src, diags)?;
            if every < ir::MIN_EVERY || every > ir::MAX_EVERY {
                diags.push(
                    Diagnostic::new(
                        Code::BadTrigger,
                        src,
                        lit.span,
                        format!("`trigger every {}` is out of range", lit.node.0),
                    )
                    .label(if every < ir::MIN_EVERY {
                        "shorter than 1s"
                    } else {
                        "longer than 365d"
                    })
                    .help("`trigger every` takes a duration from `1s` to `365d`"),
                );
                return None;
            }
            Some(Trigger::Every(every))
        }
    }
}

fn cron(
    text: &Spanned<String>,
    src: SourceId,
    diags: &mut Vec<Diagnostic>,
) -> Option<CronSchedule> {
    let err = match CronSchedule::parse(&text.node) {
        Ok(schedule) => return Some(schedule),
        Err(e) => e,
    };
    // A field's bytes are the file's only when no escape changed the
    // string's length (each escape is two bytes for one).
    let verbatim = text.node.len() + 2 == text.span.end.saturating_sub(text.span.start);
    let (span, label) = match err.field {
        Some(range) if verbatim => {
            let start = text.span.start + 1;
            (
                Span::new(start + range.start, start + range.end),
                "this field",
            )
        }
        Some(_) => (text.span, "this field is wrong"),
        None => (text.span, "this schedule"),
    };
    diags.push(
        Diagnostic::new(Code::BadTrigger, src, span, err.message)
            .label(label)
            .help(err.help),
    );
    None
}

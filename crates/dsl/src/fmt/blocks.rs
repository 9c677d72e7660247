//! The walk over the file: each block's items one per line, the comments
//! and blank lines between them, nested blocks indented.

use super::items;
use super::layout::Lines;
use super::source::{Broken, Source};
use crate::ast::{File, Flow, FlowItem, StageDecl, StageItem, Template, Use};

/// One item of a block, whatever the block.
#[derive(Clone, Copy)]
enum Item<'a> {
    Use(&'a Use),
    Flow(&'a Flow),
    Template(&'a Template),
    InFlow(&'a FlowItem),
    InStage(&'a StageItem),
}

impl Item<'_> {
    /// Where its last token ends.
    fn end(self) -> usize {
        match self {
            Item::Use(u) => u.span.end,
            Item::Flow(f) => f.span.end,
            Item::Template(t) => t.span.end,
            Item::InFlow(i) => items::flow_item_end(i),
            Item::InStage(i) => items::stage_item_end(i),
        }
    }

    /// The word it starts with.
    fn keyword(self) -> &'static str {
        match self {
            Item::Use(_) => "use",
            Item::Flow(_) => "flow",
            Item::Template(_) => "template",
            Item::InFlow(i) => items::flow_item_keyword(i),
            // `optional outputs`, `ends run`: the first word is enough.
            Item::InStage(i) => i.keyword().split(' ').next().unwrap_or(""),
        }
    }

    /// A block (flow, template, stage): set apart by blank lines.
    fn is_block(self) -> bool {
        matches!(
            self,
            Item::Flow(_)
                | Item::Template(_)
                | Item::InFlow(FlowItem::Stage(_) | FlowItem::Finally(_))
        )
    }
}

/// Where a block's items lie: between its `{` and its `}`.
struct Body {
    /// Just after the `{` (0 for the file).
    open_end: usize,
    /// The `}` (the end of the text for the file).
    close: usize,
    /// Nesting depth of the items.
    depth: usize,
    /// Something before `open_end` (a header) can take a trailing comment.
    after_token: bool,
}

/// Formats a parsed file into lines.
pub(super) struct Walker<'t> {
    src: Source<'t>,
    pub lines: Lines,
}

impl<'t> Walker<'t> {
    pub fn new(src: Source<'t>) -> Self {
        Walker {
            src,
            lines: Lines::default(),
        }
    }

    /// The whole file: `use` items, flows and templates in source order.
    pub fn file(&mut self, file: &File) -> Result<(), Broken> {
        let mut top: Vec<Item> = file.uses.iter().map(Item::Use).collect();
        top.extend(file.flows.iter().map(Item::Flow));
        top.extend(file.templates.iter().map(Item::Template));
        top.sort_by_key(|i| match i {
            Item::Use(u) => u.span.start,
            Item::Flow(f) => f.span.start,
            Item::Template(t) => t.span.start,
            _ => 0,
        });
        let body = Body {
            open_end: 0,
            close: self.src.text.len(),
            depth: 0,
            after_token: false,
        };
        self.body(&top, &body)
    }

    /// The items of one block, with the comments around them.
    fn body(&mut self, items: &[Item], body: &Body) -> Result<(), Broken> {
        let mut cursor = body.open_end;
        let mut after_token = body.after_token;
        let mut after_block = false;
        let mut first = true;
        let mut next = 0;
        while let Some(&item) = items.get(next) {
            let start = self.src.skip_trivia(cursor);
            self.src.expect_word(start, item.keyword())?;
            let gap = Gap {
                from: cursor,
                to: start,
                depth: body.depth,
                after_token,
                after_block,
                before_block: item.is_block(),
                at_close: false,
            };
            self.gap(&gap, &mut first);
            let kept = self.kept_line(&items[next..], cursor, start);
            if kept > 0 {
                let end = items[next + kept - 1].end();
                let line = self.src.written(start, end)?;
                self.lines.push(body.depth, line);
                next += kept;
            } else {
                self.item(item, start, body.depth)?;
                next += 1;
            }
            first = false;
            let last = items[next - 1];
            cursor = last.end();
            after_token = true;
            after_block = last.is_block();
        }
        if self.src.skip_trivia(cursor) < body.close {
            return Err(format!("text after the last item at byte {cursor}"));
        }
        let gap = Gap {
            from: cursor,
            to: body.close,
            depth: body.depth,
            after_token,
            after_block,
            before_block: false,
            at_close: true,
        };
        self.gap(&gap, &mut first);
        self.lines.no_blank();
        Ok(())
    }

    /// How many items (from the first of `items`, which starts at `start`)
    /// to keep as written: those starting on the line right below a
    /// `# flow: allow(…)` comment, when laying them out would spread that
    /// line over several (the comment silences only the line below it).
    /// 0 to lay them out as usual.
    fn kept_line(&self, items: &[Item], gap_from: usize, start: usize) -> usize {
        let Some(above) = self.src.comments_in(gap_from, start).last() else {
            return 0;
        };
        if !crate::suppress::is_directive(&above.node)
            || self.src.newlines(above.span.end, start) != 1
        {
            return 0;
        }
        let mut count = 1;
        while count < items.len() {
            let at = self.src.skip_trivia(items[count - 1].end());
            if self.src.newlines(start, at) > 0 {
                break;
            }
            count += 1;
        }
        let spread = count > 1 || self.item_on_header_line(items[0], start);
        if spread {
            count
        } else {
            0
        }
    }

    /// True when `item` is a block with an item on the line of its header
    /// (`stage a { max 3`), which the layout would move to the next line.
    fn item_on_header_line(&self, item: Item, start: usize) -> bool {
        let (from, punctuation): (usize, &[u8]) = match item {
            Item::Flow(f) => (f.name.span.end, b""),
            Item::Template(t) => (
                t.params.last().map_or(t.name.span.end, |p| p.span.end),
                b"(),",
            ),
            Item::InFlow(FlowItem::Stage(s) | FlowItem::Finally(s)) => (
                s.template.as_ref().map_or(s.name.span.end, |t| t.span.end),
                b"",
            ),
            _ => return false,
        };
        let Ok(open) = self.src.open_brace(from, punctuation) else {
            return false;
        };
        let next = self.src.skip_trivia(open + 1);
        let close = item.end().saturating_sub(1);
        next < close && self.src.newlines(start, next) == 0
    }

    /// One item starting at `start`.
    fn item(&mut self, item: Item, start: usize, depth: usize) -> Result<(), Broken> {
        match item {
            Item::Use(u) => self.simple(start, item.end(), depth, items::use_item(&self.src, u)),
            Item::InFlow(FlowItem::Stage(s) | FlowItem::Finally(s)) => self.stage(s, start, depth),
            Item::InFlow(i) => {
                let text = items::flow_item(&self.src, i);
                self.simple(start, item.end(), depth, text)
            }
            Item::InStage(i) => {
                let text = items::stage_item(&self.src, i);
                self.simple(start, item.end(), depth, text)
            }
            Item::Flow(f) => {
                let open = self.src.open_brace(f.name.span.end, b"")?;
                let header = format!("flow {} {{", f.name.node);
                let inner: Vec<Item> = f.items.iter().map(Item::InFlow).collect();
                self.block(start, open, f.span.end, depth, header, &inner)
            }
            Item::Template(t) => {
                let from = t.params.last().map_or(t.name.span.end, |p| p.span.end);
                let open = self.src.open_brace(from, b"(),")?;
                let header = items::template_header(&self.src, t);
                let inner: Vec<Item> = t.items.iter().map(Item::InStage).collect();
                self.block(start, open, t.span.end, depth, header, &inner)
            }
        }
    }

    fn stage(&mut self, s: &StageDecl, start: usize, depth: usize) -> Result<(), Broken> {
        let from = s.template.as_ref().map_or(s.name.span.end, |t| t.span.end);
        let open = self.src.open_brace(from, b"")?;
        let header = items::stage_header(&self.src, s);
        let inner: Vec<Item> = s.items.iter().map(Item::InStage).collect();
        self.block(start, open, s.span.end, depth, header, &inner)
    }

    /// A one-line item: its canonical text, or the text as written when a
    /// comment sits between its tokens (moving it would lose its place).
    fn simple(
        &mut self,
        start: usize,
        end: usize,
        depth: usize,
        text: String,
    ) -> Result<(), Broken> {
        if end < start {
            return Err(format!(
                "an item ends (byte {end}) before it starts (byte {start})"
            ));
        }
        let text = if self.src.comments_in(start, end).is_empty() {
            text
        } else {
            self.src.written(start, end)?
        };
        self.lines.push(depth, text);
        Ok(())
    }

    /// A block: `header {`, its items one level deeper, `}`. An empty block
    /// is `header {}`.
    fn block(
        &mut self,
        start: usize,
        open: usize,
        end: usize,
        depth: usize,
        header: String,
        inner: &[Item],
    ) -> Result<(), Broken> {
        let close = end.saturating_sub(1);
        if self.src.text.as_bytes().get(close) != Some(&b'}') || close < open {
            return Err(format!("a block opened at byte {open} is not closed"));
        }
        let header = if self.src.comments_in(start, open).is_empty() {
            header
        } else {
            self.src.written(start, open + 1)?
        };
        if inner.is_empty() && self.src.comments_in(open, close).is_empty() {
            self.lines.push(depth, format!("{header}}}"));
            return Ok(());
        }
        self.lines.push(depth, header);
        let body = Body {
            open_end: open + 1,
            close,
            depth: depth + 1,
            after_token: true,
        };
        self.body(inner, &body)?;
        self.lines.push(depth, "}".to_string());
        Ok(())
    }

    /// The comments between two tokens (or a token and the block's end):
    /// the first one, when on the same line as the token before, stays at
    /// the end of that line; the others get lines of their own. A blank line
    /// written between two of them (or before the next item) is kept as
    /// one; blocks are always set apart by one.
    fn gap(&mut self, gap: &Gap, first: &mut bool) {
        let comments = self.src.comments_in(gap.from, gap.to);
        let mut entries: Vec<(&str, bool)> = Vec::new(); // (comment, blank before)
        let mut prev = gap.from;
        for (i, c) in comments.iter().enumerate() {
            let breaks = self.src.newlines(prev, c.span.start);
            prev = c.span.end;
            if i == 0 && breaks == 0 && gap.after_token && self.lines.trail(&c.node) {
                continue;
            }
            entries.push((&c.node, breaks >= 2));
        }
        // Blank before the item itself (not at a block's end).
        let mut item_blank = !gap.at_close && self.src.newlines(prev, gap.to) >= 2;
        if gap.after_block {
            match entries.first_mut() {
                Some(e) => e.1 = true,
                None => item_blank = true,
            }
        }
        if gap.before_block && !item_blank && !entries.iter().any(|e| e.1) {
            // Before the comments right above the block (its doc comment).
            match entries.first_mut() {
                Some(e) => e.1 = true,
                None => item_blank = true,
            }
        }
        for (text, blank) in entries {
            if blank && !*first {
                self.lines.blank();
            }
            self.lines.push(gap.depth, text.to_string());
            *first = false;
        }
        if item_blank && !*first {
            self.lines.blank();
        }
    }
}

/// The trivia between two tokens, and what surrounds it.
struct Gap {
    from: usize,
    to: usize,
    depth: usize,
    /// A token precedes it (a trailing comment can go on its line).
    after_token: bool,
    /// It follows a block.
    after_block: bool,
    /// A block follows it.
    before_block: bool,
    /// It ends at a block's `}` (or the end of the file).
    at_close: bool,
}

//! Descriptions (markdown) as HTML the dashboard may insert: CommonMark by
//! `pulldown-cmark`, with every piece of raw HTML turned into text (escaped)
//! and links and images kept only to `http(s):`, `mailto:` or this server
//! (a path, a `#fragment`): a `javascript:` or `data:` link is its text.
//! An image becomes a link to it (the dashboard's policy loads none from
//! elsewhere). Text and URLs are escaped by `pulldown-cmark`'s writer.

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

/// `md` as safe HTML (see the module docs).
pub fn to_html(md: &str) -> String {
    let options =
        Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TABLES | Options::ENABLE_TASKLISTS;
    // Per open link or image: whether it is kept.
    let mut open: Vec<bool> = Vec::new();
    let events = Parser::new_ext(md, options).filter_map(|event| match event {
        Event::Html(text) | Event::InlineHtml(text) => Some(Event::Text(text)),
        Event::Start(Tag::Link {
            link_type,
            dest_url,
            title,
            id,
        })
        | Event::Start(Tag::Image {
            link_type,
            dest_url,
            title,
            id,
        }) => {
            let keep = safe_url(&dest_url);
            open.push(keep);
            keep.then_some(Event::Start(Tag::Link {
                link_type,
                dest_url,
                title,
                id,
            }))
        }
        Event::End(TagEnd::Link) | Event::End(TagEnd::Image) => open
            .pop()
            .unwrap_or(false)
            .then_some(Event::End(TagEnd::Link)),
        other => Some(other),
    });
    let mut html = String::with_capacity(md.len() * 3 / 2);
    pulldown_cmark::html::push_html(&mut html, events);
    html
}

/// Whether a link may point at `url`: `http(s):` or `mailto:`, or no
/// scheme at all (a path or fragment of this server).
fn safe_url(url: &str) -> bool {
    let url = url.trim();
    let lower = url.to_ascii_lowercase();
    if ["http://", "https://", "mailto:"]
        .iter()
        .any(|p| lower.starts_with(p))
    {
        return true;
    }
    // A scheme is letters (digits, `+-.`) before a `:` that comes before
    // any `/`, `?` or `#`.
    let head = url.split(['/', '?', '#']).next().unwrap_or("");
    !head.contains(':') && !url.chars().any(char::is_control)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_becomes_html_with_links() {
        assert_eq!(
            to_html("say **hi** [docs](https://example.com/d?a=1&b=2)"),
            "<p>say <strong>hi</strong> <a href=\"https://example.com/d?a=1&amp;b=2\">docs</a></p>\n"
        );
        assert!(to_html("- a\n- b\n").contains("<ul>"));
        assert!(to_html("see <https://x.example/1>").contains("href=\"https://x.example/1\""));
        assert!(to_html("[run](/runs/20261206T040629Z-jad1nn)").contains("href=\"/runs/"));
    }

    #[test]
    fn raw_html_is_text() {
        let html =
            to_html("a <b>raw</b> <script>alert(1)</script>\n\n<img src=x onerror=alert(1)>\n");
        assert!(
            !html.contains("<b>") && !html.contains("<script") && !html.contains("<img"),
            "{html}"
        );
        assert!(html.contains("&lt;b&gt;raw&lt;/b&gt;"), "{html}");
        assert!(html.contains("&lt;img"), "{html}");
    }

    #[test]
    fn only_safe_links_are_kept() {
        for bad in [
            "[x](javascript:alert(1))",
            "[x](JavaScript:alert(1))",
            "[x]( data:text/html,hi)",
            "[x](vbscript:msgbox)",
            "![x](javascript:alert(1))",
            "[x][r]\n\n[r]: javascript:alert(1)",
        ] {
            let html = to_html(bad);
            assert!(
                !html.contains("<a") && !html.contains("<img"),
                "{bad}: {html}"
            );
            assert!(html.contains('x'), "{bad}: {html}");
        }
        // An image is a link to it, never loaded.
        let html = to_html("![chart](https://x.example/c.png)");
        assert_eq!(
            html,
            "<p><a href=\"https://x.example/c.png\">chart</a></p>\n"
        );
        // Quotes cannot leave the attribute.
        let html = to_html("[x](https://a.example/\"onmouseover=\"alert(1))");
        assert!(!html.contains("\"onmouseover"), "{html}");
    }
}

//! The safe subset of Markdown staff write news in: paragraphs, emphasis, lists, headings,
//! quotes, tables, links to `http(s)`/`mailto` addresses. Raw HTML is shown as text, images as
//! their description, and any other link target is dropped: nothing a reader's browser could run.

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd, html};

fn safe_target(url: &str) -> bool {
    let lower = url.trim().to_ascii_lowercase();
    lower.starts_with("https://") || lower.starts_with("http://") || lower.starts_with("mailto:")
}

/// The HTML of `markdown`, without scripts, raw HTML or unsafe links.
pub fn render(markdown: &str) -> String {
    let parser = Parser::new_ext(markdown, Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH);
    // Links whose target is unsafe lose their wrapper (their text stays); images become text.
    let mut dropped_links = Vec::new();
    let events = parser.filter_map(|event| match event {
        Event::Html(raw) | Event::InlineHtml(raw) => Some(Event::Text(raw)),
        Event::Start(Tag::Link { link_type, dest_url, title, id }) => {
            let keep = safe_target(&dest_url);
            dropped_links.push(!keep);
            keep.then_some(Event::Start(Tag::Link { link_type, dest_url, title, id }))
        }
        Event::End(TagEnd::Link) => (!dropped_links.pop().unwrap_or(false)).then_some(Event::End(TagEnd::Link)),
        Event::Start(Tag::Image { .. }) | Event::End(TagEnd::Image) => None,
        Event::Start(Tag::HtmlBlock) | Event::End(TagEnd::HtmlBlock) => None,
        e => Some(e),
    });
    let mut out = String::new();
    html::push_html(&mut out, events);
    // Table alignment as classes: the pages' policy allows no inline style.
    out.replace(" style=\"text-align: left\"", " class=\"a-gauche\"")
        .replace(" style=\"text-align: center\"", " class=\"au-centre\"")
        .replace(" style=\"text-align: right\"", " class=\"a-droite\"")
}

/// The plain text of `markdown` (for a summary or an email).
pub fn plain(markdown: &str) -> String {
    let mut out = String::new();
    for event in Parser::new(markdown) {
        match event {
            Event::Text(t) | Event::Code(t) => out.push_str(&t),
            Event::SoftBreak | Event::HardBreak | Event::End(TagEnd::Paragraph | TagEnd::Heading(_) | TagEnd::Item) => {
                out.push(' ')
            }
            _ => {}
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_the_subset() {
        let html = render(
            "## Fermeture\n\nL'école est **fermée** le *lundi*.\n\n- cantine\n- étude\n\n[Le règlement](https://ville.example/reglement.pdf)",
        );
        assert!(html.contains("<h2>Fermeture</h2>"), "{html}");
        assert!(html.contains("<strong>fermée</strong>") && html.contains("<em>lundi</em>"));
        assert!(html.contains("<li>cantine</li>"));
        assert!(html.contains("<a href=\"https://ville.example/reglement.pdf\">Le règlement</a>"));
    }

    #[test]
    fn never_lets_markup_or_scripts_through() {
        for evil in [
            "<script>alert(1)</script>",
            "Bonjour <img src=x onerror=alert(1)>",
            "[clic](javascript:alert(1))",
            "[clic](JaVaScRiPt:alert(1))",
            "![x](javascript:alert(1))",
            "<a href=\"javascript:alert(1)\">x</a>",
            "[clic](data:text/html;base64,PHNjcmlwdD4=)",
        ] {
            let html = render(evil);
            assert!(
                !html.contains("<script") && !html.contains("<img") && !html.contains("<a href=\"javascript"),
                "{evil} → {html}"
            );
            let lower = html.to_ascii_lowercase();
            assert!(!lower.contains("<a href=\"javascript") && !lower.contains("<a href=\"data:"), "{evil} → {html}");
        }
        assert!(render("<b>gras</b>").contains("&lt;b&gt;gras&lt;/b&gt;"));
        assert_eq!(render("[clic](javascript:alert(1))"), "<p>clic</p>\n");
    }

    #[test]
    fn plain_text_for_summaries() {
        assert_eq!(plain("## Titre\n\nUn **mot**\net un autre."), "Titre Un mot et un autre.");
    }

    #[test]
    fn table_alignment_is_a_class_not_an_inline_style() {
        let html = render("| a | b | c |\n|:--|:-:|--:|\n| 1 | 2 | 3 |");
        assert!(!html.contains("style="), "{html}");
        assert!(
            html.contains("class=\"a-gauche\"")
                && html.contains("class=\"au-centre\"")
                && html.contains("class=\"a-droite\""),
            "{html}"
        );
    }
}

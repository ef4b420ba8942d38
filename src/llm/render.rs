//! Answers are markdown with TeX; readers get sanitized HTML.
//!
//! pulldown-cmark (CommonMark, no dependencies of note) parses, with its math extension so `$...$` and
//! `$$...$$` reach us verbatim instead of being mangled as emphasis; math goes out as `\(...\)` / `\[...\]`
//! text in `span.math` for the site's math renderer. ammonia then sanitizes the HTML with an allow-list: the
//! model's output is untrusted (a prompt-injected paper can make it emit `<script>`), and ammonia is the
//! html5ever-based sanitizer, sharing its parser with `scraper` so it adds little to the build.

use pulldown_cmark::{Event, Options, Parser, html};

pub fn markdown_to_safe_html(markdown: &str) -> String {
    let markdown = normalize_math(markdown);
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_MATH;
    let events = Parser::new_ext(&markdown, options).map(|ev| match ev {
        Event::InlineMath(tex) => {
            Event::InlineHtml(format!("<span class=\"math math-inline\">\\({}\\)</span>", escape(&tex)).into())
        }
        Event::DisplayMath(tex) => {
            Event::InlineHtml(format!("<span class=\"math math-display\">\\[{}\\]</span>", escape(&tex)).into())
        }
        other => other,
    });
    let mut out = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut out, events);
    ammonia::Builder::default()
        .add_allowed_classes("span", &["math", "math-inline", "math-display"])
        .link_rel(Some("noopener noreferrer nofollow"))
        .clean(&out)
        .to_string()
}

/// Models often write `\(...\)` and `\[...\]`, which markdown would turn into plain brackets.
fn normalize_math(s: &str) -> String {
    s.replace("\\[", "$$").replace("\\]", "$$").replace("\\(", "$").replace("\\)", "$")
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_math_and_sanitizing() {
        let html = markdown_to_safe_html(
            "**Bold** list:\n\n- $a_1 < b_2$\n- \\(x^*\\) and *y*\n\n$$\\sum_i w_i$$\n\n<script>alert(1)</script>\
             <img src=x onerror=alert(1)>\n\n[l](javascript:alert(1)) [ok](https://arxiv.org)",
        );
        assert!(html.contains("<strong>Bold</strong>"), "{html}");
        assert!(html.contains("<li><span class=\"math math-inline\">\\(a_1 &lt; b_2\\)</span></li>"), "{html}");
        assert!(html.contains("\\(x^*\\)"), "{html}");
        assert!(html.contains("<span class=\"math math-display\">\\[\\sum_i w_i\\]</span>"), "{html}");
        assert!(html.contains("<a href=\"https://arxiv.org\" rel=\"noopener noreferrer nofollow\">ok</a>"), "{html}");
        for bad in ["<script", "onerror", "href=\"javascript"] {
            assert!(!html.contains(bad), "{bad} in {html}");
        }
    }
}

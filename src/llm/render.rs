//! Answers are markdown with TeX; readers get sanitized HTML.
//!
//! pulldown-cmark (CommonMark, no dependencies of note) parses, with its math extension so `$...$` and
//! `$$...$$` reach us verbatim instead of being mangled as emphasis; math goes out as `\(...\)` / `\[...\]`
//! text in `span.math` for a client-side math renderer, or as server-rendered MathML through
//! [`markdown_to_safe_html_with`] (the reader app renders TeX to MathML server-side; its renderer plugs in there). ammonia then sanitizes the HTML with an allow-list: the
//! model's output is untrusted (a prompt-injected paper can make it emit `<script>`), and ammonia is the
//! html5ever-based sanitizer, sharing its parser with `scraper` so it adds little to the build.

use pulldown_cmark::{Event, Options, Parser, html};

/// Markdown to sanitized HTML, math left as TeX in `span.math` (`\\(...\\)`, `\\[...\\]`) for a client-side
/// renderer.
pub fn markdown_to_safe_html(markdown: &str) -> String {
    markdown_to_safe_html_with(markdown, |_, _| None)
}

/// An LLM answer as every page shows it (the live stream, the cached replay, the summary page): sanitized HTML
/// with its formulas as MathML, like the rest of the site.
pub fn answer_html(markdown: &str) -> String {
    markdown_to_safe_html_with(markdown, crate::render::math::to_mathml)
}

/// Like [`markdown_to_safe_html`], with `math(tex, display)` offering server-rendered markup (MathML) for each
/// formula; `None` keeps the TeX span. The markup is put in *after* sanitizing (through private-use placeholder
/// characters that ammonia keeps as text), so `math` must return markup it has checked itself.
pub fn markdown_to_safe_html_with(markdown: &str, math: impl Fn(&str, bool) -> Option<String>) -> String {
    let markdown = normalize_math(markdown).replace(PLACEHOLDER, "");
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_MATH;
    let mut formulas: Vec<String> = Vec::new();
    let mut formula = |tex: &str, display: bool| {
        let rendered = math(tex, display).unwrap_or_else(|| {
            let (class, open, close) =
                if display { ("math-display", "\\[", "\\]") } else { ("math-inline", "\\(", "\\)") };
            let mut escaped = String::with_capacity(tex.len());
            crate::render::text::escape(tex, &mut escaped);
            format!("<span class=\"math {class}\">{open}{escaped}{close}</span>")
        });
        formulas.push(rendered);
        Event::Text(format!("{PLACEHOLDER}{}{PLACEHOLDER}", formulas.len() - 1).into())
    };
    let events: Vec<Event> = Parser::new_ext(&markdown, options)
        .map(|ev| match ev {
            Event::InlineMath(tex) => formula(&tex, false),
            Event::DisplayMath(tex) => formula(&tex, true),
            other => other,
        })
        .collect();
    let mut out = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut out, events.into_iter());
    let clean = ammonia::Builder::default().link_rel(Some("noopener noreferrer nofollow")).clean(&out).to_string();
    // Put the formulas back: `\u{E000}{index}\u{E000}`.
    let mut result = String::with_capacity(clean.len() + formulas.iter().map(String::len).sum::<usize>());
    let mut parts = clean.split(PLACEHOLDER);
    result.push_str(parts.next().unwrap_or(""));
    while let Some(index) = parts.next() {
        match index.parse::<usize>().ok().and_then(|i| formulas.get(i)) {
            Some(f) => result.push_str(f),
            None => result.push_str(index),
        }
        result.push_str(parts.next().unwrap_or(""));
    }
    result
}

/// Marks a formula's index in the HTML until it is put back (stripped from the model's text beforehand).
const PLACEHOLDER: char = '\u{E000}';

/// Models often write `\(...\)` and `\[...\]`, which markdown would turn into plain brackets.
fn normalize_math(s: &str) -> String {
    s.replace("\\[", "$$").replace("\\]", "$$").replace("\\(", "$").replace("\\)", "$")
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

    #[test]
    fn server_rendered_math_is_put_in_after_sanitizing() {
        let mathml = |tex: &str, display: bool| {
            (tex != "bad").then(|| format!("<math display=\"{display}\"><mi>{tex}</mi></math>"))
        };
        let html = markdown_to_safe_html_with("See $x$ and $bad$.\n\n$$y$$\n\nsneaky \u{E000}0\u{E000}", mathml);
        assert!(
            html.contains(
                "See <math display=\"false\"><mi>x</mi></math> and <span class=\"math math-inline\">\\(bad\\)</span>."
            ),
            "{html}"
        );
        assert!(html.contains("<math display=\"true\"><mi>y</mi></math>"), "{html}");
        assert!(html.contains("sneaky 0"), "placeholders in the model's text are dropped: {html}");
    }
}

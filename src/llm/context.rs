//! What the LLM reads about a paper: title, authors, abstract, and the full text when arXiv has an HTML
//! rendering (`{html_base_url}/{id}`, LaTeXML output), reduced to clean text within a token budget.
//!
//! Reduction keeps headings, paragraphs, lists, table cells, captions and math (as its TeX `alttext`), and drops
//! navigation, page headers and footers, the bibliography, footnotes, scripts and styles, and the front matter
//! that the store already has (title, authors, abstract).

use scraper::node::Node;
use scraper::{ElementRef, Html, Selector};

use crate::net::http::{FetchError, HttpClient};
use crate::store::{StoredPaper, StoredVenuePaper};

/// What a summary is of: an arXiv paper, or a venue paper (a conference paper without an arXiv version here).
#[derive(Debug, Clone, PartialEq)]
pub struct Subject {
    /// The summary's cache key: the arXiv id, or the venue paper's key (`acl:2024.acl-long.12`).
    pub key: String,
    pub title: String,
    pub authors: Vec<String>,
    pub abstract_text: String,
    /// The arXiv id whose HTML rendering is the full text; `None` for venue papers (their full text, a PDF, is
    /// out of scope: the answers rest on the abstract).
    pub html_id: Option<String>,
}

impl From<&StoredPaper> for Subject {
    fn from(p: &StoredPaper) -> Self {
        Subject {
            key: p.id.to_string(),
            title: p.title.clone(),
            authors: p.authors.clone(),
            abstract_text: p.abstract_text.clone(),
            html_id: Some(p.id.to_string()),
        }
    }
}

impl From<&StoredVenuePaper> for Subject {
    fn from(p: &StoredVenuePaper) -> Self {
        Subject {
            key: p.key.to_string(),
            title: p.title.clone(),
            authors: p.authors.clone(),
            abstract_text: p.abstract_text.clone(),
            html_id: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct PaperContext {
    pub title: String,
    pub authors: Vec<String>,
    pub abstract_text: String,
    /// The reduced full text; `None` when arXiv has no HTML rendering (the answers rest on the abstract).
    pub body: Option<String>,
    /// The full text was shortened to fit the budget.
    pub truncated: bool,
}

impl PaperContext {
    pub fn abstract_only(paper: &Subject) -> Self {
        PaperContext {
            title: paper.title.clone(),
            authors: paper.authors.clone(),
            abstract_text: paper.abstract_text.clone(),
            body: None,
            truncated: false,
        }
    }
}

const FETCH_LIMIT: std::time::Duration = std::time::Duration::from_secs(60);

/// Fetches the HTML rendering through the app's polite arXiv client. A 404 (no rendering) or any failure
/// falls back to the abstract: a summary from the abstract beats no summary.
pub async fn build(http: &HttpClient, html_base_url: &str, paper: &Subject, token_budget: usize) -> PaperContext {
    let mut ctx = PaperContext::abstract_only(paper);
    let Some(html_id) = paper.html_id.as_deref() else { return ctx };
    let url = format!("{}/{html_id}", html_base_url.trim_end_matches('/'));
    // The arXiv client retries 5xx for minutes; a reader waiting for a summary should not.
    let fetched = tokio::time::timeout(FETCH_LIMIT, http.get(&url, None)).await;
    let html = match fetched {
        Ok(Ok(fetched)) => String::from_utf8_lossy(&fetched.body).into_owned(),
        Ok(Err(FetchError::Status { status: 404, .. })) => return ctx,
        Err(_) => {
            tracing::warn!(paper = %paper.key, "arXiv HTML took too long; summarising from the abstract");
            return ctx;
        }
        Ok(Err(e)) => {
            tracing::warn!(paper = %paper.key, error = %e, "no full text for the summary; using the abstract");
            return ctx;
        }
    };
    // Parsing a few megabytes of HTML is CPU work: keep it off the async workers.
    let reduced = tokio::task::spawn_blocking(move || {
        let sections = extract(&html);
        fit(&sections, token_budget)
    })
    .await;
    if let Ok(Some((body, truncated))) = reduced {
        ctx.body = Some(body);
        ctx.truncated = truncated;
    }
    ctx
}

/// One section of the reduced text: its heading (none for text before the first one), level 1..=6, and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub heading: Option<String>,
    pub level: usize,
    pub body: String,
}

const SKIP_TAGS: &[&str] = &[
    "script", "style", "nav", "header", "footer", "noscript", "template", "button", "form", "input", "select", "svg",
    "img", "iframe", "object", "canvas", "video", "audio",
];
const SKIP_CLASSES: &[&str] = &[
    "ltx_bibliography",
    "ltx_page_header",
    "ltx_page_footer",
    "ltx_page_navbar",
    "ltx_TOC",
    "ltx_authors",
    "ltx_dates",
    "ltx_abstract",
    "ltx_title_document",
    "ltx_note",
    "ltx_role_footnote",
    "ltx_keywords",
    "ltx_classification",
    "ltx_acknowledgements",
    "package-alerts",
    "ltx_pagination",
    "ltx_ERROR",
];
const BLOCK_TAGS: &[&str] = &[
    "p",
    "div",
    "section",
    "article",
    "li",
    "ul",
    "ol",
    "dl",
    "dt",
    "dd",
    "table",
    "tr",
    "figure",
    "figcaption",
    "blockquote",
    "pre",
    "br",
    "main",
    "aside",
    "tbody",
    "thead",
];

/// The sections of a LaTeXML page (`article.ltx_document`, else the whole body), in document order.
pub fn extract(html: &str) -> Vec<Section> {
    let doc = Html::parse_document(html);
    let root = Selector::parse("article.ltx_document")
        .ok()
        .and_then(|s| doc.select(&s).next())
        .or_else(|| Selector::parse("body").ok().and_then(|s| doc.select(&s).next()))
        .unwrap_or_else(|| doc.root_element());
    let mut b =
        Builder { sections: vec![Section { heading: None, level: 1, body: String::new() }], para: String::new() };
    walk(root, &mut b);
    b.flush();
    b.sections.retain(|s| s.heading.is_some() || !s.body.is_empty());
    b.sections
}

struct Builder {
    sections: Vec<Section>,
    para: String,
}

impl Builder {
    fn text(&mut self, t: &str) {
        self.para.push_str(t);
    }

    /// Ends the paragraph being collected, folding its white space.
    fn flush(&mut self) {
        let folded = fold(&std::mem::take(&mut self.para));
        if folded.is_empty() {
            return;
        }
        if let Some(s) = self.sections.last_mut() {
            if !s.body.is_empty() {
                s.body.push_str("\n\n");
            }
            s.body.push_str(&folded);
        }
    }

    fn heading(&mut self, level: usize, text: String) {
        self.flush();
        self.sections.push(Section { heading: Some(text), level, body: String::new() });
    }
}

fn fold(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn skipped(el: &scraper::node::Element) -> bool {
    SKIP_TAGS.contains(&el.name())
        || el.attr("role") == Some("navigation")
        || el.attr("aria-hidden") == Some("true")
        || el.classes().any(|c| SKIP_CLASSES.contains(&c))
}

fn walk(el: ElementRef<'_>, b: &mut Builder) {
    for child in el.children() {
        match child.value() {
            Node::Text(t) => b.text(t),
            Node::Element(e) => {
                let Some(child_el) = ElementRef::wrap(child) else { continue };
                if skipped(e) {
                    continue;
                }
                let name = e.name();
                if name == "math" {
                    b.text(&math_text(child_el));
                } else if let Some(level) = heading_level(name) {
                    let mut inner = Builder { sections: Vec::new(), para: String::new() };
                    walk(child_el, &mut inner);
                    let text = fold(&inner.para);
                    if !text.is_empty() {
                        b.heading(level, text);
                    }
                } else if BLOCK_TAGS.contains(&name) {
                    b.flush();
                    walk(child_el, b);
                    b.flush();
                } else {
                    let cell = matches!(name, "td" | "th");
                    walk(child_el, b);
                    if cell {
                        b.text(" | ");
                    }
                }
            }
            _ => {}
        }
    }
}

/// LaTeXML puts the TeX source in `alttext`; the LLM reads TeX better than MathML.
fn math_text(el: ElementRef<'_>) -> String {
    let tex = el.value().attr("alttext").map(str::trim).unwrap_or("");
    if tex.is_empty() {
        return fold(&el.text().collect::<String>());
    }
    if el.value().attr("display") == Some("block") { format!(" $${tex}$$ ") } else { format!(" ${tex}$ ") }
}

fn heading_level(name: &str) -> Option<usize> {
    match name.as_bytes() {
        [b'h', d @ b'1'..=b'6'] => Some(usize::from(d - b'0')),
        _ => None,
    }
}

fn is_conclusion(heading: &str) -> bool {
    let h = heading.to_lowercase();
    ["conclusion", "concluding", "discussion", "summary", "结论", "总结"].iter().any(|k| h.contains(k))
}

/// Renders the sections within `token_budget` (tokens ≈ characters / 4). `None` when there is no text at all.
///
/// When it does not all fit: every heading is kept (they outline the paper), the conclusion gets up to a third
/// of what is left (it states the findings), and the rest goes to the text from the beginning on; cuts are
/// marked `[…]`.
pub fn fit(sections: &[Section], token_budget: usize) -> Option<(String, bool)> {
    let body_chars: usize = sections.iter().map(|s| s.body.len()).sum();
    if body_chars < 200 {
        return None; // a stub page (an error notice, an empty conversion) is no full text
    }
    let budget = token_budget.saturating_mul(4);
    let render_heading = |s: &Section| s.heading.as_ref().map(|h| format!("{} {h}\n\n", "#".repeat(s.level)));
    let heads: usize = sections.iter().filter_map(render_heading).map(|h| h.len()).sum();
    if heads + body_chars + 2 * sections.len() <= budget {
        let all = sections.iter().map(|s| render_heading(s).unwrap_or_default() + &s.body).collect::<Vec<_>>();
        return Some((all.join("\n\n").trim().to_string(), false));
    }
    let conclusion = sections.iter().rposition(|s| s.heading.as_deref().is_some_and(is_conclusion));
    let mut left = budget.saturating_sub(heads + 2 * sections.len());
    let conclusion_share = conclusion.map_or(0, |i| sections[i].body.len().min(left / 3));
    left -= conclusion_share;
    let mut out = Vec::with_capacity(sections.len());
    for (i, s) in sections.iter().enumerate() {
        let take = if Some(i) == conclusion { conclusion_share } else { s.body.len().min(left) };
        if Some(i) != conclusion {
            left -= take;
        }
        let mut text = render_heading(s).unwrap_or_default();
        let cut = cut_at_word(&s.body, take);
        text.push_str(cut);
        if cut.len() < s.body.len() {
            text.push_str(if cut.is_empty() { "[…]" } else { " […]" });
        }
        out.push(text);
    }
    Some((out.join("\n\n").trim().to_string(), true))
}

/// The longest prefix of `s` of at most `max` bytes that ends at a word boundary (or a char boundary).
fn cut_at_word(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    let prefix = &s[..end];
    match prefix.rfind(char::is_whitespace) {
        Some(i) if i > end / 2 => prefix[..i].trim_end(),
        _ => prefix,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static PAGE: &str = include_str!("../../tests/fixtures/arxiv/html/latexml_2401.00001_written.html");

    #[test]
    fn extracts_sections_and_drops_the_noise() {
        let sections = extract(PAGE);
        let heads: Vec<&str> = sections.iter().filter_map(|s| s.heading.as_deref()).collect();
        assert_eq!(
            heads,
            ["1 Introduction", "2 Related Work", "3 Method", "3.1 Sparse routing", "4 Experiments", "5 Conclusion"]
        );
        let all: String = sections.iter().map(|s| s.body.as_str()).collect::<Vec<_>>().join("\n");
        for noise in ["Report issue", "bibitem", "Vaswani et al. 2017. Attention", "console.log", "color:", "Footnote"]
        {
            assert!(!all.contains(noise), "{noise:?} should be dropped:\n{all}");
        }
        assert!(!all.contains("We study routing"), "the abstract comes from the store, not twice");
        assert!(all.contains("$\\mathcal{O}(n \\log n)$"), "math as TeX:\n{all}");
        assert!(all.contains("$$y = \\sum_i w_i x_i$$"));
        assert!(all.contains("Table 1: Accuracy"));
        let method = sections.iter().find(|s| s.heading.as_deref() == Some("3 Method")).unwrap();
        assert_eq!(method.level, 2);
        assert!(method.body.contains("routes each token"));
    }

    #[test]
    fn a_tight_budget_keeps_beginning_heads_and_conclusion() {
        let sections = extract(PAGE);
        let (all, truncated) = fit(&sections, 100_000).unwrap();
        assert!(!truncated && all.starts_with("## 1 Introduction"));
        let (short, truncated) = fit(&sections, 120).unwrap();
        assert!(truncated);
        assert!(short.len() <= 120 * 4 + 200, "{} chars", short.len());
        for h in ["## 1 Introduction", "## 4 Experiments", "### 3.1 Sparse routing", "## 5 Conclusion"] {
            assert!(short.contains(h), "{h} kept:\n{short}");
        }
        assert!(short.contains("Large language models"), "the beginning is kept");
        assert!(short.contains("We showed that sparse routing"), "the conclusion is kept:\n{short}");
        assert!(short.contains("[…]"));
    }

    #[test]
    fn stubs_are_not_full_text() {
        assert_eq!(fit(&extract("<html><body><p>No HTML for this paper.</p></body></html>"), 1000), None);
        assert_eq!(cut_at_word("héllo wörld again", 9), "héllo");
    }
}

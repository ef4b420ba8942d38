//! Untrusted text to HTML: escaped prose with TeX math (`$..$`, `$$..$$`, `\(..\)`, `\[..\]`) rendered to
//! MathML and search terms wrapped in `<mark>`. Everything a template marks `|safe` comes from here.

use std::fmt::Write;

use super::math;

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
}

/// A piece of text: prose, or math with its delimiters.
#[derive(Debug, PartialEq)]
enum Piece<'a> {
    Prose(&'a str),
    Math { tex: &'a str, source: &'a str, display: bool },
}

/// Splits `s` into prose and math. An opening delimiter without its closing one is prose; `\$` is a dollar.
fn pieces(s: &str) -> Vec<Piece<'_>> {
    let mut out = Vec::new();
    let bytes = s.as_bytes();
    let (mut i, mut prose_start) = (0, 0);
    while i < bytes.len() {
        let (open, close, display) = match bytes[i] {
            b'\\' if bytes.get(i + 1) == Some(&b'$') => {
                i += 2;
                continue;
            }
            b'\\' if bytes.get(i + 1) == Some(&b'(') => ("\\(", "\\)", false),
            b'\\' if bytes.get(i + 1) == Some(&b'[') => ("\\[", "\\]", true),
            b'$' if bytes.get(i + 1) == Some(&b'$') => ("$$", "$$", true),
            b'$' => ("$", "$", false),
            _ => {
                i += 1;
                continue;
            }
        };
        let body_start = i + open.len();
        match find_close(&s[body_start..], close) {
            Some(len) if len > 0 => {
                if prose_start < i {
                    out.push(Piece::Prose(&s[prose_start..i]));
                }
                let end = body_start + len + close.len();
                out.push(Piece::Math { tex: &s[body_start..body_start + len], source: &s[i..end], display });
                i = end;
                prose_start = end;
            }
            _ => i += open.len(),
        }
    }
    if prose_start < s.len() {
        out.push(Piece::Prose(&s[prose_start..]));
    }
    out
}

/// Length of the math body before `close`, skipping escaped dollars.
fn find_close(s: &str, close: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && bytes.get(i + 1) == Some(&b'$') {
            i += 2;
            continue;
        }
        if s[i..].starts_with(close) {
            return Some(i);
        }
        i += s[i..].chars().next().map_or(1, char::len_utf8);
    }
    None
}

/// Search terms to highlight, lower-cased, from a user query: words of the query itself, less operators
/// and field names (`author:hinton` highlights `hinton`).
pub fn query_terms(query: &str) -> Vec<String> {
    let mut terms: Vec<String> = Vec::new();
    for raw in query.split_whitespace() {
        if raw.starts_with('-') {
            continue;
        }
        let word = raw.rsplit(':').next().unwrap_or(raw);
        for w in word.split(|c: char| !c.is_alphanumeric()) {
            let w = w.to_lowercase();
            if w.chars().count() >= 2 && !matches!(w.as_str(), "and" | "or" | "not") && !terms.contains(&w) {
                terms.push(w);
            }
        }
    }
    terms.truncate(20);
    terms
}

/// Whether a prose word matches a term: same start, so `transformers` matches `transformer` (the index stems).
fn matches_term(word: &str, terms: &[String]) -> bool {
    let w = word.to_lowercase();
    terms.iter().any(|t| {
        let stem = if t.chars().count() > 4 { t.trim_end_matches('s') } else { t.as_str() };
        w.starts_with(stem)
    })
}

fn prose(s: &str, terms: &[String], out: &mut String) {
    if terms.is_empty() {
        escape(s, out);
        return;
    }
    let mut word_start: Option<usize> = None;
    let flush = |from: usize, to: usize, out: &mut String| {
        let w = &s[from..to];
        if matches_term(w, terms) {
            out.push_str("<mark>");
            escape(w, out);
            out.push_str("</mark>");
        } else {
            escape(w, out);
        }
    };
    for (i, c) in s.char_indices() {
        if c.is_alphanumeric() {
            word_start.get_or_insert(i);
        } else {
            if let Some(st) = word_start.take() {
                flush(st, i, out);
            }
            escape(c.encode_utf8(&mut [0; 4]), out);
        }
    }
    if let Some(st) = word_start {
        flush(st, s.len(), out);
    }
}

/// `s` as HTML: prose escaped (search `terms` marked), math as MathML or, when it cannot be rendered, its
/// escaped source.
pub fn rich(s: &str, terms: &[String]) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 2);
    for piece in pieces(s) {
        match piece {
            Piece::Prose(p) => prose(p, terms, &mut out),
            Piece::Math { tex, source, display } => match math::to_mathml(tex, display) {
                Some(m) => {
                    // The source rides along for copy and for readers without MathML.
                    let _ = write!(out, "<span class=\"math\" title=\"");
                    escape(source, &mut out);
                    out.push_str("\">");
                    out.push_str(&m);
                    out.push_str("</span>");
                }
                None => escape(source, &mut out),
            },
        }
    }
    out
}

/// A search snippet: the sentences of `text` from the first one holding a term, about `max` bytes, rendered
/// with [`rich`]. Sentence cuts keep math whole unless a sentence ends inside it (then it shows as source).
pub fn snippet(text: &str, terms: &[String], max: usize) -> String {
    let sentences: Vec<&str> = text.split_inclusive(". ").collect();
    let first = sentences
        .iter()
        .position(|s| s.split(|c: char| !c.is_alphanumeric()).any(|w| !w.is_empty() && matches_term(w, terms)))
        .unwrap_or(0);
    let mut picked = String::new();
    let mut used = first;
    for s in &sentences[first..] {
        if !picked.is_empty() && picked.len() + s.len() > max {
            break;
        }
        picked.push_str(s);
        used += 1;
    }
    let mut out = String::new();
    if first > 0 {
        out.push_str("… ");
    }
    out.push_str(&rich(picked.trim_end(), terms));
    if used < sentences.len() {
        out.push_str(" …");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_prose_and_math() {
        assert_eq!(
            pieces("a $x^2$ b"),
            vec![Piece::Prose("a "), Piece::Math { tex: "x^2", source: "$x^2$", display: false }, Piece::Prose(" b")]
        );
        assert_eq!(pieces("costs \\$5 and $3"), vec![Piece::Prose("costs \\$5 and $3")]);
        assert_eq!(pieces("$$a$$").len(), 1);
    }

    #[test]
    fn escapes_everything_outside_math() {
        let h = rich("<script>alert(1)</script> & $x<y$", &[]);
        assert!(h.starts_with("&lt;script&gt;alert(1)&lt;/script&gt; &amp; "), "{h}");
        assert!(h.contains("<math"), "{h}");
        assert!(!h.contains("<script"), "{h}");
        let h = rich("$\\text{<script>x</script>}$ $\\frac{1$", &[]);
        assert!(!h.contains("<script"), "{h}");
    }

    #[test]
    fn marks_terms_outside_math() {
        let t = query_terms("author:Hinton transformers -gan");
        assert_eq!(t, ["hinton", "transformers"]);
        let h = rich("A Transformer by Hinton, $x$", &t);
        assert!(h.contains("<mark>Transformer</mark>") && h.contains("<mark>Hinton</mark>"), "{h}");
    }

    #[test]
    fn snippets_start_at_the_first_match() {
        let s = snippet("One thing. Two diffusion things. Three.", &query_terms("diffusion"), 300);
        assert!(s.starts_with("… Two <mark>diffusion</mark>"), "{s}");
    }
}

//! TeX math to MathML, server side, with `pulldown-latex`.
//!
//! The renderer is not trusted blindly: it writes `<`, `>` and `&` operators unescaped (`<mo><</mo>`), so its
//! text content is escaped afterwards; expressions it cannot parse fall back to the escaped source; and the
//! result is checked against an allow-list of MathML elements and attributes before it reaches a page.

use pulldown_latex::{Parser, RenderConfig, Storage, push_mathml};

/// Longest expression rendered; longer ones are shown as their source.
const MAX_TEX: usize = 2_000;

/// MathML for `tex`, or `None` when it cannot be rendered safely (the caller shows the source, escaped).
pub fn to_mathml(tex: &str, display: bool) -> Option<String> {
    if tex.trim().is_empty() || tex.len() > MAX_TEX {
        return None;
    }
    let mut input = String::with_capacity(tex.len() + 8);
    let mut prev = ' ';
    for c in tex.chars() {
        match c {
            // An unescaped `&` is an alignment tab in TeX and an error here anyway: show it as an ampersand.
            '&' if prev != '\\' => input.push_str("\\& "),
            _ => input.push(c),
        }
        prev = c;
    }
    let storage = Storage::new();
    let parser = Parser::new(&input, &storage);
    let mut out = String::with_capacity(input.len() * 8);
    let mut config = RenderConfig::default();
    if display {
        config.display_mode = pulldown_latex::config::DisplayMode::Block;
    }
    push_mathml(&mut out, parser, config).ok()?;
    if out.contains("<merror") {
        return None;
    }
    let out = escape_text(&out);
    is_safe_mathml(&out).then_some(out)
}

/// Escapes `<`, `>` and `&` in the text between tags. A `<` starts a tag only when a letter or `/` follows;
/// entities the renderer already wrote (`&lt;` in `\text{}`) are kept.
fn escape_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len() + 16);
    let mut rest = html;
    while let Some(c) = rest.chars().next() {
        let next = rest[c.len_utf8()..].chars().next();
        if c == '<' && next.is_some_and(|n| n.is_ascii_alphabetic() || n == '/') {
            let end = rest.find('>').map_or(rest.len(), |i| i + 1);
            out.push_str(&rest[..end]);
            rest = &rest[end..];
            continue;
        }
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' if !is_entity(rest) => out.push_str("&amp;"),
            _ => out.push(c),
        }
        rest = &rest[c.len_utf8()..];
    }
    out
}

fn is_entity(s: &str) -> bool {
    let body = &s[1..];
    match body.find(';') {
        Some(end) if end > 0 && end <= 10 => {
            let name = &body[..end];
            name.strip_prefix('#').map_or(name.chars().all(|c| c.is_ascii_alphanumeric()), |n| {
                n.strip_prefix('x')
                    .map_or(n.chars().all(|c| c.is_ascii_digit()), |h| h.chars().all(|c| c.is_ascii_hexdigit()))
            })
        }
        _ => false,
    }
}

const ELEMENTS: &[&str] = &[
    "math",
    "mi",
    "mn",
    "mo",
    "ms",
    "mtext",
    "mspace",
    "mrow",
    "msup",
    "msub",
    "msubsup",
    "mfrac",
    "msqrt",
    "mroot",
    "mover",
    "munder",
    "munderover",
    "mtable",
    "mtr",
    "mtd",
    "mstyle",
    "mpadded",
    "mphantom",
    "menclose",
    "semantics",
    "annotation",
    "mmultiscripts",
    "mprescripts",
    "none",
    "mlabeledtr",
];

const ATTRIBUTES: &[&str] = &[
    "display",
    "mathvariant",
    "stretchy",
    "symmetric",
    "fence",
    "separator",
    "lspace",
    "rspace",
    "width",
    "height",
    "depth",
    "accent",
    "accentunder",
    "movablelimits",
    "largeop",
    "minsize",
    "maxsize",
    "linethickness",
    "scriptlevel",
    "displaystyle",
    "columnalign",
    "rowalign",
    "columnspacing",
    "rowspacing",
    "notation",
    "form",
    "class",
    "encoding",
    "voffset",
    "columnlines",
    "rowlines",
    "frame",
    "framespacing",
    "mathsize",
    "mathcolor",
    "mathbackground",
    "xmlns",
    "dir",
    "bevelled",
    "align",
    "actiontype",
    "selection",
];

/// Whether every tag in `html` is an allow-listed MathML element with allow-listed attributes, and every
/// attribute value is quoted without markup in it: the last line of defence against renderer bugs.
fn is_safe_mathml(html: &str) -> bool {
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        rest = &rest[start + 1..];
        let Some(end) = rest.find('>') else { return false };
        let tag = &rest[..end];
        rest = &rest[end + 1..];
        let tag = tag.strip_prefix('/').unwrap_or(tag).trim_end_matches('/').trim_end();
        let mut parts = tag.splitn(2, |c: char| c.is_ascii_whitespace());
        let name = parts.next().unwrap_or("");
        if !ELEMENTS.contains(&name) {
            return false;
        }
        let mut attrs = parts.next().unwrap_or("").trim();
        while !attrs.is_empty() {
            let Some(eq) = attrs.find("=\"") else { return false };
            let attr = attrs[..eq].trim();
            if !ATTRIBUTES.contains(&attr) {
                return false;
            }
            let after = &attrs[eq + 2..];
            let Some(close) = after.find('"') else { return false };
            if after[..close].contains(['<', '&']) && !after[..close].starts_with("&#") {
                return false;
            }
            attrs = after[close + 1..].trim_start();
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_common_math() {
        let m = to_mathml(r"\mathcal{O}(n \log n) + x^2_{ij} \leq \frac{\epsilon}{2}", false).unwrap();
        assert!(m.starts_with("<math"), "{m}");
        assert!(m.contains("<mfrac>"), "{m}");
    }

    #[test]
    fn hostile_input_never_becomes_markup() {
        for tex in [
            r"\text{<script>alert(1)</script>}",
            "a<b",
            "x<script>alert(1)</script>",
            "a & b",
            r"\href{javascript:x}{y}",
        ] {
            if let Some(m) = to_mathml(tex, false) {
                assert!(!m.contains("<script"), "{tex}: {m}");
                assert!(!m.contains("<<"), "{tex}: {m}");
                assert!(is_safe_mathml(&m), "{tex}: {m}");
            }
        }
        assert!(to_mathml(r"\frac{1}{2", false).is_none(), "parse errors fall back to the source");
        let m = to_mathml("a<b>c", false).unwrap();
        assert!(m.contains("<mo>&lt;</mo>") && m.contains("<mo>&gt;</mo>"), "{m}");
        let m = to_mathml(r"\text{<b>x</b>} \& y", false).unwrap();
        assert!(m.contains("&lt;b&gt;") && m.contains("&amp;") && !m.contains("<b>"), "{m}");
    }

    #[test]
    fn the_checker_rejects_foreign_markup() {
        assert!(!is_safe_mathml("<math><script>x</script></math>"));
        assert!(!is_safe_mathml("<math><mi onclick=\"x\">a</mi></math>"));
        assert!(!is_safe_mathml("<math><mi>a</mi"));
        assert!(is_safe_mathml("<math display=\"inline\"><mi>a</mi><mspace width=\"1em\" /></math>"));
    }
}

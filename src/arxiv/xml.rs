//! A thin streaming layer over `quick_xml::Reader` shared by the feed parsers.
//!
//! It exists so every parser handles the same things the same way: element names compared by local name (arXiv's
//! feeds mix default namespaces and `dc:`/`arxiv:`/`oai_dc:` prefixes, and some recorded responses even use prefixes
//! they never declare), text assembled from text, CDATA and entity-reference events, and a document that stops
//! before its root element is closed reported as truncated rather than silently accepted.
//!
//! No DOM is built: callers pull [`Ev`]s and read the text of the elements they care about with
//! [`XmlStream::read_text`].

use std::borrow::Cow;

use quick_xml::Reader;
use quick_xml::XmlVersion;
use quick_xml::events::{BytesStart, Event};

/// Why an XML document could not be read to its end.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmlError {
    /// The bytes are not well-formed XML from `position` on (bad syntax, invalid UTF-8, mismatched tags).
    #[error("malformed XML at byte {position}: {message}")]
    Malformed { position: u64, message: String },
    /// The document ended while `open` was still open: a cut-off download or a trimmed file.
    #[error("XML ends before <{open}> is closed (truncated document)")]
    Truncated { open: String },
}

/// One pulled event, reduced to what the parsers need.
#[derive(Debug)]
pub enum Ev<'a> {
    /// An opening tag; `empty` is true for `<tag/>` (no matching [`Ev::End`] follows).
    Start { el: Element<'a>, empty: bool },
    /// A closing tag, by local name.
    End(String),
    /// The end of a complete document.
    Eof,
}

/// An opening tag with its attributes.
#[derive(Debug)]
pub struct Element<'a> {
    start: BytesStart<'a>,
}

impl Element<'_> {
    /// The name without namespace prefix (`announce_type` for `arxiv:announce_type`).
    pub fn local(&self) -> &str {
        local_of(self.start.name().into_inner())
    }

    /// The unescaped value of the attribute whose local name is `name`, ignoring malformed attributes.
    pub fn attr(&self, name: &str) -> Option<String> {
        self.start.attributes().with_checks(false).flatten().find_map(|a| {
            (local_of(a.key.as_ref()) == name)
                .then(|| a.normalized_value(XmlVersion::Implicit1_0).ok().map(Cow::into_owned))
                .flatten()
        })
    }
}

pub use crate::net::sniff::{describe_root, root_element};

fn local_of(qname: &str) -> &str {
    qname.rsplit(':').next().unwrap_or(qname)
}

/// A pull parser over a byte slice that tracks nesting depth to tell truncation from a complete document.
pub struct XmlStream<'a> {
    reader: Reader<&'a [u8]>,
    open: Vec<String>,
}

impl<'a> XmlStream<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        let mut reader = Reader::from_reader(bytes);
        let config = reader.config_mut();
        // Feeds in the wild contain stray `&` (e.g. unescaped author lists); keep them as text instead of failing
        // the whole page.
        config.allow_dangling_amp = true;
        XmlStream { reader, open: Vec::new() }
    }

    /// The local names of the elements currently open, outermost first.
    pub fn path(&self) -> &[String] {
        &self.open
    }

    /// Whether an element with this local name is open (anywhere up the path).
    pub fn inside(&self, local: &str) -> bool {
        self.open.iter().any(|o| o == local)
    }

    fn malformed(&self, e: quick_xml::Error) -> XmlError {
        if is_cut_off(&e, false) {
            return self.truncated();
        }
        XmlError::Malformed { position: self.reader.error_position(), message: e.to_string() }
    }

    fn truncated(&self) -> XmlError {
        XmlError::Truncated { open: self.open.last().cloned().unwrap_or_default() }
    }

    /// The next structural event; text, comments and processing instructions between elements are passed over.
    pub fn next_event(&mut self) -> Result<Ev<'a>, XmlError> {
        loop {
            let event = self.reader.read_event().map_err(|e| self.malformed(e))?;
            match event {
                Event::Start(start) => {
                    let el = Element { start };
                    self.open.push(el.local().to_string());
                    return Ok(Ev::Start { el, empty: false });
                }
                Event::Empty(start) => {
                    return Ok(Ev::Start { el: Element { start }, empty: true });
                }
                Event::End(end) => {
                    let name = local_of(end.name().as_ref()).to_string();
                    self.open.pop();
                    return Ok(Ev::End(name));
                }
                Event::Eof if self.open.is_empty() => return Ok(Ev::Eof),
                Event::Eof => return Err(self.truncated()),
                // Text between structural elements (indentation, stray words) carries nothing the parsers use.
                Event::Text(_)
                | Event::CData(_)
                | Event::GeneralRef(_)
                | Event::Comment(_)
                | Event::Decl(_)
                | Event::PI(_)
                | Event::DocType(_) => {}
            }
        }
    }

    /// Reads the text content of the element just opened (call right after a non-empty [`Ev::Start`]) up to and
    /// including its end tag. Text of nested elements is included (so stray inline markup does not lose words);
    /// entity and character references are resolved; unknown entities are kept literally as `&name;`.
    pub fn read_text(&mut self) -> Result<String, XmlError> {
        let mut out = String::new();
        let mut depth = 0usize;
        loop {
            let event = self.reader.read_event().map_err(|e| self.malformed(e))?;
            match event {
                Event::Text(t) => out.push_str(&t.xml10_content()),
                Event::CData(c) => out.push_str(&c.xml10_content()),
                Event::GeneralRef(r) => push_reference(&mut out, &r),
                Event::Start(_) => depth += 1,
                Event::End(_) if depth == 0 => {
                    self.open.pop();
                    return Ok(out);
                }
                Event::End(_) => depth -= 1,
                Event::Eof => return Err(self.truncated()),
                Event::Empty(_) | Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
            }
        }
    }

    /// Skips the element just opened, with everything inside it.
    pub fn skip(&mut self) -> Result<(), XmlError> {
        self.read_text().map(drop)
    }
}

/// Whether a reader error means the input ended with markup left open (a cut-off download, not bad XML);
/// with `missing_end`, an element never closed counts too (readers that check end tags against start tags).
pub fn is_cut_off(e: &quick_xml::Error, missing_end: bool) -> bool {
    use quick_xml::errors::{IllFormedError, SyntaxError};
    match e {
        quick_xml::Error::Syntax(
            SyntaxError::UnclosedTag
            | SyntaxError::UnclosedCData
            | SyntaxError::UnclosedComment
            | SyntaxError::UnclosedPI
            | SyntaxError::UnclosedXmlDecl
            | SyntaxError::UnclosedDoctype,
        ) => true,
        quick_xml::Error::IllFormed(IllFormedError::MissingEndTag(_)) => missing_end,
        _ => false,
    }
}

/// Appends an entity or character reference as text; an unknown or invalid one is kept as written (shared by
/// every quick-xml reader of upstream text: arXiv's formats and the ACL Anthology's).
pub fn push_reference(out: &mut String, r: &quick_xml::events::BytesRef<'_>) {
    match r.resolve_char_ref() {
        Ok(Some(c)) => out.push(c),
        Ok(None) => match quick_xml::escape::resolve_xml_entity(r) {
            Some(s) => out.push_str(s),
            None => {
                out.push('&');
                out.push_str(r);
                out.push(';');
            }
        },
        // An invalid character reference (`&#0;`, `&#xZZ;`) is kept as written rather than failing the page.
        Err(_) => {
            out.push('&');
            out.push_str(r);
            out.push(';');
        }
    }
}

/// Parses the usual arXiv date forms into UTC: RFC 3339 (`2024-02-23T16:08:30.941605+00:00`, `2021-04-20T16:07:14Z`),
/// RFC 2822 (`Fri, 23 Feb 2024 00:00:00 -0500`, `Mon, 2 Apr 2007 19:18:42 GMT`) and a bare `YYYY-MM-DD` (midnight UTC).
pub fn parse_datetime(s: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    use chrono::{DateTime, NaiveDate, Utc};
    let s = s.trim();
    if let Ok(d) = DateTime::parse_from_rfc3339(s) {
        return Some(d.with_timezone(&Utc));
    }
    if let Ok(d) = DateTime::parse_from_rfc2822(s) {
        return Some(d.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok().and_then(|d| d.and_hms_opt(0, 0, 0)).map(|d| d.and_utc())
}

/// The calendar date as written in the source's own time zone (an announcement "day" is the local date, not UTC).
pub fn parse_local_date(s: &str) -> Option<chrono::NaiveDate> {
    use chrono::{DateTime, NaiveDate};
    let s = s.trim();
    if let Ok(d) = DateTime::parse_from_rfc3339(s) {
        return Some(d.date_naive());
    }
    if let Ok(d) = DateTime::parse_from_rfc2822(s) {
        return Some(d.date_naive());
    }
    NaiveDate::parse_from_str(s.get(..10).unwrap_or(s), "%Y-%m-%d").ok()
}

/// Empty or white-space-only text means "absent" in every arXiv format.
pub fn non_empty(s: String) -> Option<String> {
    if s.trim().is_empty() { None } else { Some(s) }
}

#[cfg(test)]
mod tests {
    use super::{describe_root, root_element};

    #[test]
    fn root_element_names_the_root_or_nothing() {
        let cases: [(&[u8], Option<&str>); 9] = [
            (b"<?xml version=\"1.0\"?>\n<!-- c --><OAI-PMH xmlns=\"x\"><a/></OAI-PMH>", Some("OAI-PMH")),
            (b"\xef\xbb\xbf<feed/>", Some("feed")),
            (b"  <rdf:RDF>", Some("RDF")),
            (b"<!DOCTYPE html><html><body>502</body></html>", Some("html")),
            (b"", None),
            (b" \n\t", None),
            (b"Service Unavailable", None),
            (b"{\"records\": []}", None),
            (b"\x00\x01garbage", None),
        ];
        for (body, want) in cases {
            assert_eq!(root_element(body).as_deref(), want, "{:?}", String::from_utf8_lossy(body));
        }
        assert!(describe_root("").contains("empty"));
        assert_eq!(describe_root("html"), "root element <html>");
    }

    use super::*;

    fn texts(xml: &str) -> Result<Vec<(String, String)>, XmlError> {
        let mut s = XmlStream::new(xml.as_bytes());
        let mut out = Vec::new();
        loop {
            match s.next_event()? {
                Ev::Start { el, empty: false } if el.local() == "t" => {
                    let name = el.attr("k").unwrap_or_default();
                    out.push((name, s.read_text()?));
                }
                Ev::Eof => return Ok(out),
                _ => {}
            }
        }
    }

    #[test]
    fn resolves_entities_cdata_and_prefixes() {
        let got = texts(r#"<r xmlns:a="x"><a:t a:k="1&amp;2">A &amp; B &lt;script&gt; &#233;&#xE9; <![CDATA[<b>&amp;</b>]]> &nbsp;</a:t></r>"#)
            .unwrap();
        assert_eq!(got, vec![("1&2".into(), "A & B <script> éé <b>&amp;</b> &nbsp;".into())]);
    }

    #[test]
    fn nested_markup_text_is_kept() {
        assert_eq!(texts("<r><t>a <i>b</i> c</t></r>").unwrap()[0].1, "a b c");
    }

    #[test]
    fn truncation_and_garbage_are_errors() {
        assert!(matches!(texts("<r><t>abc</t>"), Err(XmlError::Truncated { .. })));
        assert!(matches!(texts("<r><t>abc"), Err(XmlError::Truncated { .. })));
        assert!(matches!(texts("<r><t>abc</t></r"), Err(XmlError::Truncated { .. })));
        assert!(matches!(texts("<r><t><![CDATA[ab"), Err(XmlError::Truncated { .. })));
        assert!(matches!(texts("<r><t>abc</u></r>"), Err(XmlError::Malformed { .. })));
        assert!(texts("").unwrap().is_empty());
    }

    #[test]
    fn dates() {
        let d = parse_datetime("Fri, 23 Feb 2024 00:00:00 -0500").unwrap();
        assert_eq!(d.to_rfc3339(), "2024-02-23T05:00:00+00:00");
        assert_eq!(parse_datetime("Mon, 2 Apr 2007 19:18:42 GMT").unwrap().to_rfc3339(), "2007-04-02T19:18:42+00:00");
        assert_eq!(parse_datetime("2021-04-20T16:07:14Z").unwrap().to_rfc3339(), "2021-04-20T16:07:14+00:00");
        assert_eq!(parse_datetime("2014-01-09").unwrap().to_rfc3339(), "2014-01-09T00:00:00+00:00");
        assert_eq!(parse_local_date("2018-05-23T20:30:00-05:00").unwrap().to_string(), "2018-05-23");
        assert_eq!(parse_local_date("Fri, 23 Feb 2024 00:00:00 -0500").unwrap().to_string(), "2024-02-23");
        assert!(parse_datetime("yesterday").is_none());
    }

    proptest::proptest! {
        /// Every parser returns Ok or Err on arbitrary bytes and on XML-looking soup; none panics.
        #[test]
        fn parsers_never_panic_on_random_input(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300)) {
            let _ = crate::arxiv::rss::parse_feed(&bytes);
            let _ = crate::arxiv::oai::parse_list_records(&bytes);
            let _ = crate::arxiv::api::parse_feed(&bytes);
            let _ = crate::arxiv::kaggle::parse_line(&String::from_utf8_lossy(&bytes));
        }

        #[test]
        fn parsers_never_panic_on_xml_soup(
            parts in proptest::collection::vec(
                "(<rss>|<feed>|<OAI-PMH>|<channel>|<item>|<entry>|<record>|<header status=\"deleted\">|<metadata>|<arXiv>|<arXivRaw>|<dc>|<title>|</title>|<id>|</id>|<guid>|</guid>|<category term=\"cs.CL\"/>|<version version=\"v2\">|<date>|</date>|<error code=\"x\">|<resumptionToken cursor=\"-1\">|<![CDATA[|]]>|&amp;|&#0;|&#x110000;|&bogus;|oai:arXiv.org:2401.01234v1|\\'e|</[a-z]+>|[ a-z]{0,5})",
                0..40,
            )
        ) {
            let doc = parts.concat();
            let _ = crate::arxiv::rss::parse_feed(doc.as_bytes());
            let _ = crate::arxiv::oai::parse_list_records(doc.as_bytes());
            let _ = crate::arxiv::api::parse_feed(doc.as_bytes());
        }
    }
}

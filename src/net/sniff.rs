//! What kind of document a body is, read from its first element only: how a fetcher tells "not the document
//! asked for" (an HTML error page from a proxy, JSON, an empty 200) from a real answer before any parser runs.

use quick_xml::Reader;
use quick_xml::events::Event;

/// The local name of the root element of `bytes`: `None` when the body has no element before its first
/// non-blank text (empty, plain text, JSON) or is not XML at all. Reads only as far as the root's start tag,
/// so it is cheap on a large body. Fetchers use it to tell "not the document asked for" (a transient fault
/// to retry) from a document that says "nothing".
pub fn root_element(bytes: &[u8]) -> Option<String> {
    let mut reader = Reader::from_reader(bytes);
    loop {
        match reader.read_event().ok()? {
            Event::Start(el) | Event::Empty(el) => return Some(local_of(el.name().into_inner()).to_string()),
            Event::Text(t) => {
                if !t.into_inner().trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}').is_empty() {
                    return None;
                }
            }
            Event::Decl(_) | Event::Comment(_) | Event::PI(_) | Event::DocType(_) => {}
            _ => return None,
        }
    }
}

/// How a root element (as [`root_element`] found it, `""` for none) reads in an error message.
pub fn describe_root(root: &str) -> String {
    if root.is_empty() {
        "no XML root element: the body is empty, plain text or JSON".to_string()
    } else {
        format!("root element <{root}>")
    }
}

fn local_of(qname: &str) -> &str {
    qname.rsplit(':').next().unwrap_or(qname)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_root_by_local_name_past_declarations() {
        let doc = b"\xef\xbb\xbf<?xml version='1.0'?>\n<!-- c --><rdf:RDF xmlns:rdf='x'><item/></rdf:RDF>";
        assert_eq!(root_element(doc).as_deref(), Some("RDF"));
        assert_eq!(root_element(b"  {\"error\": 1}"), None);
        assert_eq!(root_element(b""), None);
        assert_eq!(describe_root("html"), "root element <html>");
    }
}

//! The arXiv search API (`export.arxiv.org/api/query`): query URLs and a streaming parser for its Atom responses.
//!
//! What the recorded responses (2026 format) show and this parser relies on:
//! - paging numbers come as `opensearch:totalResults` / `startIndex` / `itemsPerPage`;
//! - an entry's `<id>` is the versioned abs URL (`http://arxiv.org/abs/2104.12255v1`), `published` is v1's
//!   submission time, `updated` the described version's;
//! - `arxiv:primary_category` comes after the `category` terms, so the primary is moved to the front at the end;
//! - an error (malformed id, bad query) is a normal-looking feed, served with HTTP 400, holding one entry whose id is
//!   `https://arxiv.org/api/errors#<code>` and whose summary is the message: it becomes [`ApiError::Api`];
//! - an `id_list` lookup of an id that does not exist (`0000.0000`, `0808.05394`) is an empty feed with
//!   `totalResults` 0, not an error. Older API versions answered with an entry without title; such an entry is
//!   skipped with a reason.

use chrono::{DateTime, Utc};

use super::xml::{Ev, XmlError, XmlStream, non_empty, parse_datetime};
use crate::domain::{ArxivId, Category, PaperRecord, Skipped};

/// What every arXiv API answer is, errors included.
pub const DOCUMENT: crate::net::http::Expected =
    crate::net::http::Expected { what: "an arXiv API Atom feed", roots: &["feed"] };

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ApiError {
    /// The API answered with its error feed.
    #[error("arXiv API error {code}: {message}")]
    Api { code: String, message: String },
    /// The body is not an Atom feed at all (an HTML error page, a proxy's reply).
    #[error("not an arXiv API Atom feed ({})", super::xml::describe_root(root))]
    NotAFeed { root: String },
    /// The XML broke off or went bad part-way; `partial` holds every entry completed before that point, so the
    /// caller can keep them, count the failure and retry the page.
    #[error("arXiv API response unreadable after {} entries: {cause}", partial.records.len())]
    Malformed { cause: XmlError, partial: Box<ApiPage> },
}

impl ApiError {
    /// The entries read before a truncation or syntax error.
    pub fn partial(&self) -> Option<&ApiPage> {
        match self {
            ApiError::Malformed { partial, .. } => Some(partial),
            _ => None,
        }
    }
}

/// One page of API results.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ApiPage {
    pub total_results: u64,
    pub start_index: u64,
    pub items_per_page: u64,
    pub records: Vec<PaperRecord>,
    pub skipped: Vec<Skipped>,
}

/// A query of the search API. Either or both of `id_list` and `search_query` may be given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiQuery {
    pub id_list: Vec<ArxivId>,
    pub search_query: Option<String>,
    pub start: u64,
    pub max_results: u64,
}

impl ApiQuery {
    /// A lookup of these ids (versions kept where given), all on one page.
    pub fn ids(ids: Vec<ArxivId>) -> Self {
        let max_results = ids.len().max(1) as u64;
        ApiQuery { id_list: ids, search_query: None, start: 0, max_results }
    }

    /// A search in arXiv's query syntax (`ti:transformer AND cat:cs.CL`), first page of `max_results`.
    pub fn search(query: impl Into<String>, max_results: u64) -> Self {
        ApiQuery { id_list: Vec::new(), search_query: Some(query.into()), start: 0, max_results }
    }
}

/// The request URL for `q` against `base` (e.g. `https://export.arxiv.org/api/query`).
pub fn query_url(base: &str, q: &ApiQuery) -> String {
    let mut params: Vec<(&str, String)> = Vec::new();
    if !q.id_list.is_empty() {
        let ids: Vec<String> = q.id_list.iter().map(|id| encode_component(&id.to_string())).collect();
        params.push(("id_list", ids.join(",")));
    }
    if let Some(sq) = &q.search_query {
        params.push(("search_query", encode_component(sq)));
    }
    params.push(("start", q.start.to_string()));
    params.push(("max_results", q.max_results.to_string()));
    with_params(base, &params)
}

/// Appends already-encoded `params` to `base`, after `?` or, when `base` has a query already, `&`.
pub(crate) fn with_params(base: &str, params: &[(&str, String)]) -> String {
    let mut url = base.to_string();
    let mut sep = if base.contains('?') { '&' } else { '?' };
    for (k, v) in params {
        url.push(sep);
        url.push_str(k);
        url.push('=');
        url.push_str(v);
        sep = '&';
    }
    url
}

/// Everything but RFC 3986 unreserved characters and `:` `/` (allowed in a query and common in arXiv syntax:
/// `ti:x`, `hep-th/9901001`).
const QUERY_VALUE: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~').remove(b':').remove(b'/');

/// Percent-encodes a query value: `%XX` of the UTF-8 bytes of everything in [`QUERY_VALUE`]; a space is `%20`.
pub fn encode_component(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, QUERY_VALUE).to_string()
}

/// The fields of one `<entry>` as read, before validation.
#[derive(Default)]
struct Entry {
    id: String,
    title: String,
    summary: String,
    authors: Vec<String>,
    primary: Option<String>,
    categories: Vec<String>,
    comment: Option<String>,
    journal_ref: Option<String>,
    doi: Option<String>,
    published: Option<DateTime<Utc>>,
    updated: Option<DateTime<Utc>>,
}

/// Parses one API response body.
pub fn parse_feed(bytes: &[u8]) -> Result<ApiPage, ApiError> {
    let mut page = ApiPage::default();
    match read_feed(bytes, &mut page) {
        Ok(()) => Ok(page),
        Err(Failure::Api(e)) => Err(e),
        Err(Failure::Xml(cause)) => Err(ApiError::Malformed { cause, partial: Box::new(page) }),
    }
}

enum Failure {
    Api(ApiError),
    Xml(XmlError),
}

impl From<XmlError> for Failure {
    fn from(e: XmlError) -> Self {
        Failure::Xml(e)
    }
}

fn read_feed(bytes: &[u8], page: &mut ApiPage) -> Result<(), Failure> {
    let mut xml = XmlStream::new(bytes);
    let mut entry: Option<Entry> = None;
    let mut seen_root = false;
    loop {
        match xml.next_event()? {
            Ev::Start { el, empty } => {
                let local = el.local().to_string();
                if !seen_root {
                    if local != "feed" {
                        return Err(Failure::Api(ApiError::NotAFeed { root: local }));
                    }
                    seen_root = true;
                    continue;
                }
                match (&mut entry, local.as_str()) {
                    (None, "entry") if !empty => entry = Some(Entry::default()),
                    (None, "totalResults") if !empty => page.total_results = read_number(&mut xml)?,
                    (None, "startIndex") if !empty => page.start_index = read_number(&mut xml)?,
                    (None, "itemsPerPage") if !empty => page.items_per_page = read_number(&mut xml)?,
                    (Some(e), "category") => e.categories.extend(el.attr("term")),
                    (Some(e), "primary_category") => e.primary = el.attr("term"),
                    (Some(e), name) if !empty => read_entry_field(&mut xml, e, name)?,
                    (_, _) if !empty => xml.skip()?,
                    _ => {}
                }
            }
            Ev::End(name) if name == "entry" => {
                if let Some(e) = entry.take() {
                    finish_entry(e, page)?;
                }
            }
            Ev::Eof if !seen_root => return Err(Failure::Api(ApiError::NotAFeed { root: String::new() })),
            Ev::Eof => return Ok(()),
            Ev::End(_) => {}
        }
    }
}

fn read_number(xml: &mut XmlStream<'_>) -> Result<u64, XmlError> {
    // A non-numeric count is not worth failing the page over; 0 reads as "unknown".
    Ok(xml.read_text()?.trim().parse().unwrap_or(0))
}

fn read_entry_field(xml: &mut XmlStream<'_>, e: &mut Entry, name: &str) -> Result<(), XmlError> {
    match name {
        "id" => e.id = xml.read_text()?.trim().to_string(),
        "title" => e.title = xml.read_text()?,
        "summary" => e.summary = xml.read_text()?,
        "published" => e.published = parse_datetime(&xml.read_text()?),
        "updated" => e.updated = parse_datetime(&xml.read_text()?),
        "comment" => e.comment = non_empty(xml.read_text()?),
        "journal_ref" => e.journal_ref = non_empty(xml.read_text()?),
        "doi" => e.doi = non_empty(xml.read_text()?),
        // `author` holds `name` and optional `affiliation`s; only the name goes into the record.
        "author" => {}
        "name" if xml.inside("author") => {
            if let Some(name) = non_empty(xml.read_text()?) {
                e.authors.push(name.trim().to_string());
            }
        }
        _ => xml.skip()?,
    }
    Ok(())
}

/// Turns a complete entry into a record, an API error, or a skip.
fn finish_entry(e: Entry, page: &mut ApiPage) -> Result<(), Failure> {
    if let Some((_, code)) = e.id.split_once("/api/errors#") {
        return Err(Failure::Api(ApiError::Api { code: code.to_string(), message: e.summary.trim().to_string() }));
    }
    let skip = |reason: String| Skipped { what: e.id.clone(), reason };
    let id = match ArxivId::parse(&e.id) {
        Ok(id) => id,
        Err(err) => {
            page.skipped.push(skip(err.to_string()));
            return Ok(());
        }
    };
    if e.title.trim().is_empty() {
        page.skipped.push(skip("entry without title (how the API answers a lookup of an unknown id)".into()));
        return Ok(());
    }
    let categories = ordered_categories(e.primary.as_deref(), &e.categories);
    if categories.is_empty() {
        page.skipped.push(skip("entry without an arXiv category".into()));
        return Ok(());
    }
    page.records.push(PaperRecord {
        id,
        title: e.title,
        abstract_text: e.summary,
        authors: e.authors,
        categories,
        comments: e.comment,
        journal_ref: e.journal_ref,
        doi: e.doi,
        license: None,
        submitted: e.published,
        updated: e.updated,
    });
    Ok(())
}

/// Primary first, then the other terms in feed order; non-arXiv terms (MSC/ACM classes) and duplicates dropped.
fn ordered_categories(primary: Option<&str>, terms: &[String]) -> Vec<Category> {
    Category::arxiv_list(primary.into_iter().chain(terms.iter().map(String::as_str)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/arxiv/api/");
        let path = std::fs::read_dir(dir)
            .expect("fixture dir")
            .flatten()
            .map(|e| e.path())
            .find(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with(name)))
            .unwrap_or_else(|| panic!("no fixture {name}"));
        std::fs::read(path).expect("fixture readable")
    }

    fn all_fixtures() -> Vec<(String, Vec<u8>)> {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/arxiv/api/");
        let mut out: Vec<_> = std::fs::read_dir(dir)
            .expect("fixture dir")
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "xml"))
            .map(|p| (p.display().to_string(), std::fs::read(&p).expect("readable")))
            .collect();
        out.sort();
        out
    }

    #[test]
    fn single_lookup() {
        let page = parse_feed(&fixture("id_2104.12255v1")).unwrap();
        assert_eq!((page.total_results, page.start_index, page.items_per_page), (1, 0, 100));
        let r = &page.records[0];
        assert_eq!(r.id.to_string(), "2104.12255v1");
        assert_eq!(r.title, "0");
        assert_eq!(r.authors, ["Quan Thoi Minh Nguyen"]);
        assert_eq!(r.categories, [Category::parse("cs.CR").unwrap()]);
        assert!(r.abstract_text.starts_with("What is the funniest number in cryptography?"));
        assert_eq!(r.submitted.unwrap().to_rfc3339(), "2021-04-20T16:07:14+00:00");
        assert_eq!(r.comments, None);
    }

    #[test]
    fn two_ids_one_missing() {
        let page = parse_feed(&fixture("id_0808.05394_1707.08567")).unwrap();
        assert_eq!(page.total_results, 1);
        let r = &page.records[0];
        assert_eq!(r.id.to_string(), "1707.08567v1");
        assert_eq!(r.authors.len(), 34);
        assert_eq!(r.authors[0], "Kees A. Schouhamer Immink");
        assert_eq!(r.authors[33], "Hirosuke Yamamoto");
        assert_eq!(r.authors[32], "Dirk Wübben");
        assert_eq!(
            r.comments.as_deref(),
            Some("44 pages, editors for the proceedings: Yanling Chen and A. J. Han Vinck")
        );
    }

    #[test]
    fn unknown_ids_are_empty_pages() {
        for name in ["id_0000.0000", "id_0808.05394_s0"] {
            let page = parse_feed(&fixture(name)).unwrap();
            assert_eq!((page.total_results, page.records.len(), page.skipped.len()), (0, 0, 0), "{name}");
        }
    }

    #[test]
    fn error_feed() {
        let err = parse_feed(&fixture("id_abc")).unwrap_err();
        assert_eq!(
            err,
            ApiError::Api { code: "incorrect_id_format_for_abc".into(), message: "incorrect id format for abc".into() }
        );
    }

    #[test]
    fn search_pages() {
        let page = parse_feed(&fixture("q_testing_s0_m100")).unwrap();
        assert_eq!((page.total_results, page.start_index, page.items_per_page), (214_881, 0, 100));
        assert_eq!((page.records.len(), page.skipped.len()), (100, 0));
        let first = &page.records[0];
        assert_eq!(first.id.to_string(), "2202.12139v1");
        assert_eq!(first.categories.iter().map(Category::code).collect::<Vec<_>>(), ["cs.SE", "cs.LG"]);
        assert_eq!(first.doi.as_deref(), Some("10.1109/ICSTW55395.2022.00035"));
        assert!(first.journal_ref.as_deref().unwrap().starts_with("Artificial Intelligence in Software Testing"));
        let s10 = parse_feed(&fixture("q_testing_s10_m10")).unwrap();
        assert_eq!((s10.start_index, s10.records.len()), (10, 10));
        // Overlapping windows of the same query agree.
        assert_eq!(s10.records[0].id, page.records[10].id);
    }

    #[test]
    fn old_style_ids_and_primary_first() {
        let page = parse_feed(&fixture("id_astro-ph_0601001")).unwrap();
        assert_eq!(page.records[0].id.as_str(), "astro-ph/0601001");
        let page = parse_feed(&fixture("id_quant-ph_0201082v1")).unwrap();
        assert_eq!(page.records[0].id.to_string(), "quant-ph/0201082v1");
        for (name, bytes) in all_fixtures() {
            let Ok(page) = parse_feed(&bytes) else {
                continue;
            };
            assert!(page.skipped.is_empty(), "{name}: {:?}", page.skipped);
            assert!(page.records.iter().all(|r| !r.categories.is_empty() && !r.authors.is_empty()), "{name}");
        }
    }

    #[test]
    fn truncated_feed_keeps_completed_entries() {
        let bytes = fixture("q_testing_s0_m10_");
        let cut = bytes.len() / 2;
        let err = parse_feed(&bytes[..cut]).unwrap_err();
        let partial = err.partial().expect("partial page");
        assert!(matches!(err, ApiError::Malformed { cause: XmlError::Truncated { .. }, .. }));
        assert!((3..10).contains(&partial.records.len()), "{}", partial.records.len());
        assert_eq!(partial.total_results, 214_881);
        assert!(matches!(parse_feed(b"<html><body>502</body></html>"), Err(ApiError::NotAFeed { .. })));
        for body in [&b""[..], b"Rate exceeded.", b"{\"entries\": []}"] {
            assert!(matches!(parse_feed(body), Err(ApiError::NotAFeed { root }) if root.is_empty()));
        }
    }

    #[test]
    fn never_panics_on_cut_or_garbled_fixtures() {
        for (_, bytes) in all_fixtures().into_iter().filter(|(_, b)| b.len() < 30_000) {
            for cut in (0..bytes.len()).step_by(97) {
                let _ = parse_feed(&bytes[..cut]);
                let mut garbled = bytes.clone();
                garbled[cut] ^= 0x5a;
                let _ = parse_feed(&garbled);
            }
        }
    }

    #[test]
    fn urls() {
        let q = ApiQuery::ids(vec![ArxivId::parse("2401.01234v2").unwrap(), ArxivId::parse("hep-th/9901001").unwrap()]);
        assert_eq!(
            query_url("https://export.arxiv.org/api/query", &q),
            "https://export.arxiv.org/api/query?id_list=2401.01234v2,hep-th/9901001&start=0&max_results=2"
        );
        let q = ApiQuery { start: 20, ..ApiQuery::search("ti:\"large language\" AND cat:cs.CL & é", 10) };
        assert_eq!(
            query_url("http://x/api/query?sortBy=submittedDate", &q),
            "http://x/api/query?sortBy=submittedDate&search_query=ti:%22large%20language%22%20AND%20cat:cs.CL%20%26%20%C3%A9&start=20&max_results=10"
        );
        assert_eq!(encode_component("a+b=c#d%"), "a%2Bb%3Dc%23d%25");
    }
}

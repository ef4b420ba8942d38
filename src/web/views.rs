//! What templates show of a paper: display-ready strings, built once per render from a [`StoredPaper`].

use crate::domain::AnnounceKind;
use crate::domain::{capped, field_caps};
use crate::store::StoredPaper;

use super::text;

pub struct AuthorView {
    pub name: String,
    pub search: String,
}

pub struct CategoryView {
    pub code: String,
    pub name: String,
    pub primary: bool,
}

pub struct PaperView {
    pub id: String,
    pub version: String,
    /// Plain title (TeX left as is) for attributes, copying and feeds.
    pub title: String,
    pub title_html: String,
    pub abstract_html: String,
    pub authors: Vec<AuthorView>,
    /// Authors joined by ` and `, for BibTeX built in the browser.
    pub authors_plain: String,
    pub categories: Vec<CategoryView>,
    pub comments: Option<String>,
    pub journal_ref: Option<String>,
    pub doi: Option<String>,
    pub year: String,
    pub announced: String,
    pub kind: &'static str,
    pub withdrawn: bool,
    /// Why "For you" put the paper where it is.
    pub why: Option<String>,
    /// The first version's day (`YYYY-MM-DD`; the first announcement when the submission date is unknown),
    /// for reference managers.
    pub date: String,
    /// The same as `YYYY/MM/DD`, the form Google Scholar's inclusion guidelines ask of `citation_*` dates.
    pub citation_date: String,
    /// The abstract as plain text (TeX as written), for `citation_abstract`.
    pub abstract_plain: String,
    /// The paper as an OpenURL ContextObject (COinS, `span.Z3988`), which Zotero's COinS translator reads
    /// on listing and search pages for multiple-item import.
    pub coins: String,
    /// Its venue versions ("ICLR 2025 (Poster)"), filled in by [`super::venues::add_badges`].
    pub venues: Vec<VenueBadge>,
}

/// An arXiv paper's venue version, as a badge linking to the venue paper.
#[derive(Clone)]
pub struct VenueBadge {
    pub label: String,
    pub url: String,
}

impl PaperView {
    pub fn new(p: &StoredPaper, kind: Option<AnnounceKind>, terms: &[String]) -> Self {
        Self::build(p, kind, terms, None)
    }

    pub fn with_why(mut self, why: Option<String>) -> Self {
        self.why = why;
        self
    }

    /// A view whose abstract is a snippet around the search terms.
    pub fn snippet(p: &StoredPaper, terms: &[String]) -> Self {
        Self::build(p, None, terms, Some(420))
    }

    fn build(p: &StoredPaper, kind: Option<AnnounceKind>, terms: &[String], snippet: Option<usize>) -> Self {
        // The store caps fields as they arrive; rows stored before the caps existed are cut here, so no page
        // renders more than the caps whatever the store holds.
        let title = capped(&p.title, field_caps::TITLE).into_owned();
        let abstract_text = capped(&p.abstract_text, field_caps::ABSTRACT);
        let authors: Vec<std::borrow::Cow<'_, str>> =
            p.authors.iter().take(field_caps::AUTHORS).map(|a| capped(a, field_caps::AUTHOR)).collect();
        let abstract_html = match snippet {
            Some(max) => text::snippet(&abstract_text, terms, max),
            None => text::rich(&abstract_text, terms),
        };
        // Submission first (the version-1 date reference managers expect), else the announcement day.
        let day = p.submitted.map(|t| t.date_naive()).or(p.first_announced);
        let year = day.map(|d| d.format("%Y").to_string()).unwrap_or_default();
        let date = day.map(|d| d.to_string()).unwrap_or_default();
        let coins = coins(p, &title, &authors, &date);
        PaperView {
            id: p.id.to_string(),
            version: p.version.map(|v| format!("v{v}")).unwrap_or_default(),
            title_html: text::rich(&title, terms),
            title,
            abstract_html,
            authors_plain: authors.join(" and "),
            authors: authors.iter().map(|a| AuthorView { name: a.to_string(), search: author_search(a) }).collect(),
            categories: p
                .categories
                .iter()
                .map(|c| CategoryView {
                    code: c.code().to_string(),
                    name: c.display_name().to_string(),
                    primary: *c == p.primary_category,
                })
                .collect(),
            comments: p
                .comments
                .as_deref()
                .filter(|c| !c.trim().is_empty())
                .map(|c| capped(c, field_caps::COMMENTS).into_owned()),
            journal_ref: p.journal_ref.as_deref().map(|j| capped(j, field_caps::JOURNAL_REF).into_owned()),
            doi: p.doi.as_deref().map(|d| capped(d, field_caps::DOI).into_owned()),
            year,
            announced: p.first_announced.map(|d| d.to_string()).unwrap_or_default(),
            kind: kind.map_or("", kind_label),
            withdrawn: p.withdrawn,
            why: None,
            coins,
            citation_date: date.replace('-', "/"),
            date,
            abstract_plain: abstract_text.into_owned(),
            venues: Vec::new(),
        }
    }
}

/// The KEV ContextObject of a paper (Z39.88-2004, journal format, genre `preprint`): title, authors in
/// order, date, and the arXiv id, abstract URL and DOI as identifiers.
fn coins(p: &StoredPaper, title: &str, authors: &[std::borrow::Cow<'_, str>], date: &str) -> String {
    let mut kev = vec![
        "ctx_ver=Z39.88-2004".to_string(),
        format!("rft_val_fmt={}", percent_encode("info:ofi/fmt:kev:mtx:journal")),
        "rft.genre=preprint".to_string(),
        format!("rft.atitle={}", percent_encode(title)),
        "rft.jtitle=arXiv".to_string(),
    ];
    kev.extend(authors.iter().map(|a| format!("rft.au={}", percent_encode(a))));
    if !date.is_empty() {
        kev.push(format!("rft.date={date}"));
    }
    kev.push(format!("rft_id={}", percent_encode(&format!("info:arxiv/{}", p.id))));
    kev.push(format!("rft_id={}", percent_encode(&format!("https://arxiv.org/abs/{}", p.id))));
    if let Some(doi) = p.doi.as_deref().filter(|d| !d.trim().is_empty()) {
        kev.push(format!("rft_id={}", percent_encode(&format!("info:doi/{}", capped(doi.trim(), field_caps::DOI)))));
    }
    kev.join("&")
}

pub fn kind_label(k: AnnounceKind) -> &'static str {
    match k {
        AnnounceKind::New => "new",
        AnnounceKind::Cross => "cross-list",
        AnnounceKind::Replace | AnnounceKind::ReplaceCross => "replacement",
    }
}

/// `/arxiv/search?query=author:"Name"`, percent-encoded.
pub fn author_search(name: &str) -> String {
    format!("/arxiv/search?query={}", percent_encode(&format!("author:\"{}\"", name.replace('"', ""))))
}

/// Everything but RFC 3986 unreserved characters.
const UNRESERVED: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// Percent-encodes everything but unreserved characters (RFC 3986), for query values.
pub fn percent_encode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, UNRESERVED).to_string()
}

/// A feed a page advertises with `<link rel="alternate">`.
pub struct FeedLink {
    pub title: String,
    pub url: String,
}

/// What the base layout needs on every page.
pub struct Chrome {
    pub title: String,
    pub asset_version: &'static str,
    pub feed: Option<FeedLink>,
    /// The search box's value.
    pub query: String,
    /// Reload the page after this many seconds (pages that wait for something).
    pub refresh_s: Option<u32>,
    /// Whether papers get "Translate" actions (an LLM is configured).
    pub translate: bool,
}

impl Chrome {
    pub fn new(title: impl Into<String>) -> Self {
        Chrome {
            title: title.into(),
            asset_version: super::assets::version(),
            feed: None,
            query: String::new(),
            refresh_s: None,
            translate: false,
        }
    }

    pub fn with_translate(mut self, on: bool) -> Self {
        self.translate = on;
        self
    }

    pub fn with_feed(mut self, title: impl Into<String>, url: impl Into<String>) -> Self {
        self.feed = Some(FeedLink { title: title.into(), url: url.into() });
        self
    }
}

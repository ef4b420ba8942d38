//! OAI-PMH 2.0 (`export.arxiv.org/oai2`, `oaipmh.arxiv.org/oai`): request URLs and a streaming parser for
//! `ListRecords` / `GetRecord` responses in the three metadata formats arXiv serves.
//!
//! - `arXiv`: structured authors (`keyname`, `forenames`, `suffix`), `created`/`updated` dates (days, no time),
//!   space-separated `categories` with the primary first. No version number.
//! - `arXivRaw`: the version history (`<version version="v2"><date>Tue, 24 Jul 2007 20:10:27 GMT</date>`), so the
//!   record's id carries the latest version and the submission times are exact; authors are one string.
//! - `oai_dc`: Dublin Core. `dc:creator` is `Keyname, Forenames`; `dc:subject` holds long names
//!   (`Computer Science - Machine Learning`), mapped back to codes through the taxonomy, falling back to the record's
//!   set specs; the first `dc:description` is the abstract and one starting `Comment:` the comments; the `dc:date`s
//!   are the version dates, first to last. The order of subjects is not guaranteed to put the primary first.
//!
//! Deleted records (`<header status="deleted">`) are listed in [`OaiPage::deleted`]. An OAI `<error>` becomes
//! [`OaiError::Protocol`]; note that `noRecordsMatch` is how OAI says "nothing changed in that window", which a
//! harvester should treat as an empty, complete list (see [`OaiError::is_no_records_match`]).

use chrono::{DateTime, NaiveDate, Utc};

use super::api::{encode_component, with_params};
use super::xml::{Ev, XmlError, XmlStream, non_empty, parse_datetime};
use crate::domain::{ArxivId, Category, PaperRecord, Skipped, taxonomy};

/// The OAI-PMH 2.0 error codes (section 3.6 of the protocol).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum OaiErrorCode {
    BadArgument,
    BadResumptionToken,
    BadVerb,
    CannotDisseminateFormat,
    IdDoesNotExist,
    NoRecordsMatch,
    NoMetadataFormats,
    NoSetHierarchy,
    Other(String),
}

impl OaiErrorCode {
    pub fn parse(code: &str) -> Self {
        match code.trim() {
            "badArgument" => Self::BadArgument,
            "badResumptionToken" => Self::BadResumptionToken,
            "badVerb" => Self::BadVerb,
            "cannotDisseminateFormat" => Self::CannotDisseminateFormat,
            "idDoesNotExist" => Self::IdDoesNotExist,
            "noRecordsMatch" => Self::NoRecordsMatch,
            "noMetadataFormats" => Self::NoMetadataFormats,
            "noSetHierarchy" => Self::NoSetHierarchy,
            other => Self::Other(other.to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::BadArgument => "badArgument",
            Self::BadResumptionToken => "badResumptionToken",
            Self::BadVerb => "badVerb",
            Self::CannotDisseminateFormat => "cannotDisseminateFormat",
            Self::IdDoesNotExist => "idDoesNotExist",
            Self::NoRecordsMatch => "noRecordsMatch",
            Self::NoMetadataFormats => "noMetadataFormats",
            Self::NoSetHierarchy => "noSetHierarchy",
            Self::Other(s) => s,
        }
    }
}

impl std::fmt::Display for OaiErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What every OAI-PMH answer is: its envelope (or, from some recorders, a bare list).
pub const DOCUMENT: crate::net::http::Expected =
    crate::net::http::Expected { what: "an OAI-PMH response", roots: &["OAI-PMH", "ListRecords"] };

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OaiError {
    /// The repository answered with an OAI `<error>` (the first one, when it sent several).
    #[error("OAI-PMH error {code}: {message}")]
    Protocol { code: OaiErrorCode, message: String },
    /// The body is not an OAI-PMH response (an HTML error page, a proxy's reply).
    #[error("not an OAI-PMH response ({})", super::xml::describe_root(root))]
    NotOai { root: String },
    /// An OAI-PMH envelope holding neither a list, a record nor an error: not an answer to the request.
    #[error("an OAI-PMH response with neither records nor an error")]
    NoList,
    /// The XML broke off or went bad part-way; `partial` holds every record completed before that point (its
    /// resumption token is normally missing, since the token comes last: retry the same request).
    #[error("OAI-PMH response unreadable after {} records: {cause}", partial.records.len())]
    Malformed { cause: XmlError, partial: Box<OaiPage> },
}

impl OaiError {
    /// `noRecordsMatch`: an empty result, not a failure, for a harvester.
    pub fn is_no_records_match(&self) -> bool {
        matches!(self, OaiError::Protocol { code: OaiErrorCode::NoRecordsMatch, .. })
    }

    /// The records read before a truncation or syntax error.
    pub fn partial(&self) -> Option<&OaiPage> {
        match self {
            OaiError::Malformed { partial, .. } => Some(partial),
            _ => None,
        }
    }
}

/// Where a list continues. An empty `token` means the list is complete (OAI-PMH 2.0, 3.5).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResumptionToken {
    pub token: String,
    pub complete_list_size: Option<u64>,
    pub cursor: Option<u64>,
}

impl ResumptionToken {
    pub fn is_final(&self) -> bool {
        self.token.trim().is_empty()
    }
}

/// One response page.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OaiPage {
    pub records: Vec<PaperRecord>,
    pub deleted: Vec<ArxivId>,
    pub skipped: Vec<Skipped>,
    /// Absent on `GetRecord` and on a single-page list; present with an empty token on the last page.
    pub resumption_token: Option<ResumptionToken>,
    pub response_date: Option<DateTime<Utc>>,
}

/// The OAI set holding a category's papers: `cs`, `math`, `stat`, `eess`, `econ`, `q-bio`, `q-fin` for those
/// archives' subject classes, `physics:<archive>` for the physics archives (`physics:hep-th`, `physics:cond-mat`,
/// `physics:astro-ph` for `astro-ph.CO`, `physics:physics` for `physics.optics`). Retired archives map to the set
/// of their successor (`chao-dyn` -> `physics:nlin`, `alg-geom` -> `math`, `cmp-lg` -> `cs`).
pub fn set_for_category(cat: &Category) -> String {
    let archive = cat.archive();
    let successor = match archive {
        "cmp-lg" => "cs",
        "alg-geom" | "q-alg" | "funct-an" | "dg-ga" => "math",
        "chao-dyn" | "solv-int" | "adap-org" | "comp-gas" | "patt-sol" => "nlin",
        "acc-phys" | "ao-sci" | "atom-ph" | "bayes-an" | "chem-ph" | "plasm-ph" => "physics",
        "supr-con" | "mtrl-th" => "cond-mat",
        other => other,
    };
    match successor {
        "cs" | "math" | "stat" | "eess" | "econ" | "q-bio" | "q-fin" => successor.to_string(),
        physics => format!("physics:{physics}"),
    }
}

/// `ListRecords` for `prefix` (`arXiv`, `arXivRaw`, `oai_dc`), optionally restricted to a set and a datestamp window
/// (both ends inclusive, `YYYY-MM-DD`).
pub fn list_records_url(
    base: &str,
    prefix: &str,
    set: Option<&str>,
    from: Option<NaiveDate>,
    until: Option<NaiveDate>,
) -> String {
    let mut params = vec![("verb", "ListRecords".to_string()), ("metadataPrefix", encode_component(prefix))];
    if let Some(set) = set {
        params.push(("set", encode_component(set)));
    }
    if let Some(from) = from {
        params.push(("from", from.format("%Y-%m-%d").to_string()));
    }
    if let Some(until) = until {
        params.push(("until", until.format("%Y-%m-%d").to_string()));
    }
    with_params(base, &params)
}

/// The next page of a list: OAI-PMH requires the token to be the only argument besides the verb.
pub fn resume_url(base: &str, token: &str) -> String {
    with_params(base, &[("verb", "ListRecords".to_string()), ("resumptionToken", encode_component(token))])
}

/// `GetRecord` for one paper (`oai:arXiv.org:<id>`, without version: OAI records describe the paper).
pub fn get_record_url(base: &str, id: &ArxivId, prefix: &str) -> String {
    with_params(
        base,
        &[
            ("verb", "GetRecord".to_string()),
            ("identifier", encode_component(&format!("oai:arXiv.org:{}", id.as_str()))),
            ("metadataPrefix", encode_component(prefix)),
        ],
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    ArXiv,
    ArXivRaw,
    OaiDc,
}

/// Everything one `<record>` may carry in any of the three formats, as read.
#[derive(Default)]
struct Rec {
    header_id: String,
    deleted: bool,
    sets: Vec<String>,
    format: Option<Format>,
    id: Option<String>,
    title: String,
    abstract_text: Option<String>,
    authors: Vec<String>,
    author: [String; 3],
    raw_authors: Option<String>,
    categories: Option<String>,
    subjects: Vec<String>,
    comments: Option<String>,
    journal_ref: Option<String>,
    doi: Option<String>,
    license: Option<String>,
    created: Option<DateTime<Utc>>,
    updated: Option<DateTime<Utc>>,
    versions: Vec<(u32, Option<DateTime<Utc>>)>,
    dc_dates: Vec<DateTime<Utc>>,
}

enum Failure {
    Oai(OaiError),
    Xml(XmlError),
}

impl From<XmlError> for Failure {
    fn from(e: XmlError) -> Self {
        Failure::Xml(e)
    }
}

/// Parses a `ListRecords` or `GetRecord` response body.
pub fn parse_list_records(bytes: &[u8]) -> Result<OaiPage, OaiError> {
    let mut page = OaiPage::default();
    match read_response(bytes, &mut page) {
        Ok(()) => Ok(page),
        Err(Failure::Oai(e)) => Err(e),
        Err(Failure::Xml(cause)) => Err(OaiError::Malformed { cause, partial: Box::new(page) }),
    }
}

fn read_response(bytes: &[u8], page: &mut OaiPage) -> Result<(), Failure> {
    let mut xml = XmlStream::new(bytes);
    let mut rec: Option<Rec> = None;
    let mut seen_root = false;
    // Whether the answer holds a list or a record: an empty, well-formed list is `noRecordsMatch` (an error
    // element), so an envelope with neither is not an answer at all.
    let mut seen_list = false;
    loop {
        match xml.next_event()? {
            Ev::Start { el, empty } => {
                let local = el.local().to_string();
                if !seen_root {
                    // Some recorders strip the envelope and wrap records in a bare `<ListRecords>`; accept that too.
                    if local != "OAI-PMH" && local != "ListRecords" {
                        return Err(Failure::Oai(OaiError::NotOai { root: local }));
                    }
                    seen_root = true;
                    seen_list = local == "ListRecords";
                    continue;
                }
                if matches!(local.as_str(), "ListRecords" | "GetRecord") {
                    seen_list = true;
                }
                match (rec.as_mut(), local.as_str()) {
                    (None, "record") if !empty => rec = Some(Rec::default()),
                    (None, "responseDate") if !empty => page.response_date = parse_datetime(&xml.read_text()?),
                    (None, "error") => {
                        let code = OaiErrorCode::parse(&el.attr("code").unwrap_or_default());
                        let message = if empty { String::new() } else { xml.read_text()?.trim().to_string() };
                        return Err(Failure::Oai(OaiError::Protocol { code, message }));
                    }
                    (None, "resumptionToken") => {
                        let token = if empty { String::new() } else { xml.read_text()?.trim().to_string() };
                        let number = |name| el.attr(name).and_then(|v| v.trim().parse().ok());
                        page.resumption_token = Some(ResumptionToken {
                            token,
                            complete_list_size: number("completeListSize"),
                            cursor: number("cursor"),
                        });
                    }
                    (Some(r), "header") => r.deleted = el.attr("status").is_some_and(|s| s == "deleted"),
                    (Some(r), "version") => {
                        if let Some(n) = el.attr("version").and_then(|v| v.trim().strip_prefix('v')?.parse().ok()) {
                            r.versions.push((n, None));
                        }
                    }
                    (Some(r), name) if !empty => read_field(&mut xml, r, name)?,
                    (None, _) if !empty && !matches!(local.as_str(), "ListRecords" | "GetRecord") => xml.skip()?,
                    _ => {}
                }
            }
            Ev::End(name) => match (name.as_str(), rec.as_mut()) {
                ("author", Some(r)) => finish_author(r),
                ("record", Some(_)) => {
                    if let Some(r) = rec.take() {
                        finish_record(r, page);
                    }
                }
                _ => {}
            },
            Ev::Eof if !seen_root => return Err(Failure::Oai(OaiError::NotOai { root: String::new() })),
            Ev::Eof if !seen_list => return Err(Failure::Oai(OaiError::NoList)),
            Ev::Eof => return Ok(()),
        }
    }
}

/// Reads the element `name` just opened inside a record, according to the metadata format seen so far.
fn read_field(xml: &mut XmlStream<'_>, r: &mut Rec, name: &str) -> Result<(), XmlError> {
    if xml.inside("header") {
        match name {
            "identifier" => r.header_id = xml.read_text()?.trim().to_string(),
            "setSpec" => r.sets.push(xml.read_text()?.trim().to_string()),
            _ => xml.skip()?,
        }
        return Ok(());
    }
    if r.format.is_none() {
        // The first element inside <metadata> names the format; its children are read in later calls.
        r.format = match name {
            "arXiv" => Some(Format::ArXiv),
            "arXivRaw" => Some(Format::ArXivRaw),
            "dc" => Some(Format::OaiDc),
            "metadata" | "about" => None,
            _ => {
                xml.skip()?;
                None
            }
        };
        return Ok(());
    }
    match (r.format, name) {
        (_, "title") => r.title = xml.read_text()?,
        (_, "abstract") => r.abstract_text = Some(xml.read_text()?),
        (_, "categories") => r.categories = non_empty(xml.read_text()?),
        (_, "comments") => r.comments = non_empty(xml.read_text()?),
        (_, "journal-ref") => r.journal_ref = non_empty(xml.read_text()?),
        (_, "doi") => r.doi = non_empty(xml.read_text()?.trim().to_string()),
        (_, "license") => r.license = non_empty(xml.read_text()?.trim().to_string()),
        (Some(Format::ArXiv | Format::ArXivRaw), "id") => r.id = non_empty(xml.read_text()?.trim().to_string()),
        (Some(Format::ArXiv), "created") => r.created = parse_datetime(&xml.read_text()?),
        (Some(Format::ArXiv), "updated") => r.updated = parse_datetime(&xml.read_text()?),
        // `authors` is a container of `author`s in `arXiv`, a plain string in `arXivRaw`.
        (Some(Format::ArXiv), "authors" | "author") => {}
        (Some(Format::ArXiv), "keyname") => r.author[0] = xml.read_text()?,
        (Some(Format::ArXiv), "forenames") => r.author[1] = xml.read_text()?,
        (Some(Format::ArXiv), "suffix") => r.author[2] = xml.read_text()?,
        (Some(Format::ArXivRaw), "authors") => r.raw_authors = Some(xml.read_text()?),
        (Some(Format::ArXivRaw), "date") if xml.inside("version") => {
            let date = parse_datetime(&xml.read_text()?);
            if let Some(last) = r.versions.last_mut() {
                last.1 = date;
            }
        }
        (Some(Format::OaiDc), "creator") => {
            if let Some(name) = non_empty(xml.read_text()?) {
                r.authors.push(dc_creator_name(&name));
            }
        }
        (Some(Format::OaiDc), "subject") => r.subjects.push(xml.read_text()?.trim().to_string()),
        (Some(Format::OaiDc), "description") => {
            let text = xml.read_text()?;
            match text.trim_start().strip_prefix("Comment:") {
                Some(comment) => r.comments = non_empty(comment.trim().to_string()),
                None if r.abstract_text.is_none() => r.abstract_text = Some(text),
                None => {}
            }
        }
        (Some(Format::OaiDc), "date") => r.dc_dates.extend(parse_datetime(&xml.read_text()?)),
        (Some(Format::OaiDc), "identifier") => {
            let text = xml.read_text()?;
            if r.id.is_none() && text.contains("arxiv.org/abs/") {
                r.id = Some(text.trim().to_string());
            }
        }
        _ => xml.skip()?,
    }
    Ok(())
}

/// `arXiv` format: `keyname` + `forenames` + `suffix` -> `Forenames Keyname Suffix` (collaborations have only a
/// keyname).
fn finish_author(r: &mut Rec) {
    let [key, fore, suffix] = std::mem::take(&mut r.author);
    let name = [fore.trim(), key.trim(), suffix.trim()].into_iter().filter(|p| !p.is_empty()).collect::<Vec<_>>();
    if !name.is_empty() {
        r.authors.push(name.join(" "));
    }
}

/// `Liepins, Vilnis` -> `Vilnis Liepins`; a name without comma (a collaboration) stays as it is.
fn dc_creator_name(creator: &str) -> String {
    match creator.split_once(',') {
        Some((key, fore)) if !fore.trim().is_empty() => format!("{} {}", fore.trim(), key.trim()),
        _ => creator.trim().trim_end_matches(',').to_string(),
    }
}

fn finish_record(r: Rec, page: &mut OaiPage) {
    let what = if r.header_id.is_empty() { r.id.clone().unwrap_or_default() } else { r.header_id.clone() };
    let skip = |page: &mut OaiPage, reason: String| page.skipped.push(Skipped { what: what.clone(), reason });
    if r.deleted {
        match ArxivId::parse(&r.header_id) {
            Ok(id) => page.deleted.push(id),
            Err(e) => skip(page, e.to_string()),
        }
        return;
    }
    match build_record(r) {
        Ok(record) => page.records.push(record),
        Err(reason) => skip(page, reason),
    }
}

fn build_record(mut r: Rec) -> Result<PaperRecord, String> {
    let Some(format) = r.format else {
        return Err("record without metadata in a known format".into());
    };
    let id_text = r.id.clone().unwrap_or_else(|| r.header_id.clone());
    let mut id = ArxivId::parse(&id_text).map_err(|e| e.to_string())?;
    if r.title.trim().is_empty() {
        return Err("record without title".into());
    }
    let categories = match format {
        Format::OaiDc => dc_categories(&r.subjects, &r.sets),
        Format::ArXiv | Format::ArXivRaw => {
            Category::arxiv_list(r.categories.as_deref().unwrap_or("").split_whitespace())
        }
    };
    if categories.is_empty() {
        return Err("record without an arXiv category".into());
    }
    let (submitted, updated) = match format {
        Format::ArXiv => (r.created, r.updated.or(r.created)),
        Format::OaiDc => (r.dc_dates.first().copied(), r.dc_dates.last().copied()),
        Format::ArXivRaw => {
            r.versions.sort_by_key(|(n, _)| *n);
            if let Some((n, _)) = r.versions.last() {
                id = id.with_version(Some(*n));
            }
            (r.versions.first().and_then(|v| v.1), r.versions.last().and_then(|v| v.1))
        }
    };
    let authors = match r.raw_authors.as_deref() {
        Some(raw) => super::kaggle::split_authors(raw),
        None => r.authors,
    };
    Ok(PaperRecord {
        id,
        title: r.title,
        abstract_text: r.abstract_text.unwrap_or_default(),
        authors,
        categories,
        comments: r.comments,
        journal_ref: r.journal_ref,
        doi: r.doi,
        license: r.license,
        submitted,
        updated,
    })
}

/// Subject long names mapped to codes; where none maps, the set specs (`cs`, `physics:hep-ex` -> `hep-ex`).
fn dc_categories(subjects: &[String], sets: &[String]) -> Vec<Category> {
    let mapped = Category::arxiv_list(subjects.iter().filter_map(|s| taxonomy::code_for_long_name(s)));
    if !mapped.is_empty() {
        return mapped;
    }
    Category::arxiv_list(sets.iter().map(|s| s.rsplit(':').next().unwrap_or(s)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        let path = format!("{}/tests/fixtures/arxiv/oai/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn codes(r: &PaperRecord) -> Vec<&str> {
        r.categories.iter().map(Category::code).collect()
    }

    #[test]
    fn oai_dc_list_with_token() {
        let page = parse_list_records(&fixture("oai_dc_ListRecords_cs_2024-01-25_truncated.xml")).unwrap();
        assert_eq!(page.response_date.unwrap().to_rfc3339(), "2024-01-27T17:53:42+00:00");
        let ids: Vec<_> = page.records.iter().map(|r| r.id.to_string()).collect();
        assert_eq!(ids, ["1303.2033", "2401.14034", "2401.14036", "2401.14038", "2401.14040"]);
        let first = &page.records[0];
        assert_eq!(first.title, "Extended Fourier analysis of signals");
        assert_eq!(first.authors, ["Vilnis Liepins"]);
        assert_eq!(codes(first), ["cs.DS", "cs.IT", "math.NA"]);
        assert_eq!(first.comments.as_deref(), Some("32 pages, 9 figures"));
        assert!(first.abstract_text.trim_start().starts_with("This summary of the doctoral thesis"));
        assert_eq!(first.submitted.unwrap().date_naive().to_string(), "2013-03-08");
        assert_eq!(first.updated.unwrap().date_naive().to_string(), "2024-01-23");
        assert_eq!(page.records[1].authors[..2], ["Chuankun Li".to_string(), "Shuai Li".to_string()]);
        assert_eq!(codes(&page.records[1]), ["cs.CV"]);
        assert_eq!(
            page.resumption_token,
            Some(ResumptionToken { token: "6960524|1001".into(), complete_list_size: Some(1162), cursor: Some(0) })
        );
        assert!(page.skipped.is_empty() && page.deleted.is_empty());
    }

    #[test]
    fn oai_dc_subjects_fall_back_to_set_specs() {
        let xml = r#"<OAI-PMH><ListRecords><record><header><identifier>oai:arXiv.org:hep-th/9901001</identifier>
            <setSpec>physics:hep-th</setSpec></header><metadata><oai_dc:dc xmlns:oai_dc="x" xmlns:dc="y">
            <dc:title>T</dc:title><dc:creator>Witten, Edward</dc:creator><dc:creator>CMS Collaboration</dc:creator>
            <dc:subject>Some Renamed Subject</dc:subject><dc:description>A.</dc:description>
            <dc:date>1999-01-04</dc:date><dc:identifier>doi:10.1/x</dc:identifier>
            <dc:identifier>http://arxiv.org/abs/hep-th/9901001v1</dc:identifier></oai_dc:dc></metadata></record>
            </ListRecords></OAI-PMH>"#;
        let page = parse_list_records(xml.as_bytes()).unwrap();
        let r = &page.records[0];
        assert_eq!(r.id.to_string(), "hep-th/9901001v1");
        assert_eq!(codes(r), ["hep-th"]);
        assert_eq!(r.authors, ["Edward Witten", "CMS Collaboration"]);
        assert_eq!(r.submitted, r.updated);
    }

    #[test]
    fn arxiv_format_get_record() {
        let page = parse_list_records(&fixture("functional__arxiv__fixtures__http_server__records__arxiv-single.xml"))
            .unwrap();
        assert_eq!(page.resumption_token, None);
        let r = &page.records[0];
        assert_eq!(r.id.to_string(), "1401.2122");
        assert_eq!(r.authors, ["A. Sergyeyev"]);
        assert_eq!(codes(r), ["math.AP", "hep-th", "math-ph", "math.DG", "math.MP", "nlin.SI"]);
        assert_eq!(r.journal_ref.as_deref(), Some("Lett. Math. Phys. 108 (2018), no. 2, 359-376"));
        assert_eq!(r.doi.as_deref(), Some("10.1007/s11005-017-1013-4"));
        assert_eq!(r.license.as_deref(), Some("http://arxiv.org/licenses/nonexclusive-distrib/1.0/"));
        assert_eq!(r.submitted.unwrap().to_rfc3339(), "2014-01-09T00:00:00+00:00");
        assert_eq!(r.updated.unwrap().to_rfc3339(), "2017-10-23T00:00:00+00:00");
        assert!(r.comments.as_deref().unwrap().starts_with("16 pages, LaTeX"));
    }

    #[test]
    fn arxiv_format_list_and_samples() {
        let page =
            parse_list_records(&fixture("functional__arxiv__fixtures__http_server__records__arxiv-physics-hep-ex.xml"))
                .unwrap();
        let ids: Vec<_> = page.records.iter().map(|r| r.id.to_string()).collect();
        assert_eq!(ids, ["1706.05371", "1706.09418", "1707.00874"]);
        assert_eq!(page.records[0].authors.len(), 13);
        assert_eq!(page.records[0].authors[0], "Tyler Anderson");
        assert_eq!(page.records[0].authors[12], "Mani Tripathi");
        assert_eq!(page.records[1].authors[2], "Manuel E. Krauss");
        assert_eq!(codes(&page.records[2]), ["hep-ph", "astro-ph.CO", "hep-ex"]);

        let r0 = parse_list_records(&fixture("unit__responses__arxiv__sample_arxiv_record0.xml")).unwrap();
        let r = &r0.records[0];
        // This recorded sample uses `xsi:` without declaring it and lists a collaboration with a keyname only.
        assert_eq!(r.authors[0], "Planck Collaboration");
        assert_eq!(r.authors[1], "Jieci Wang");
        assert_eq!(codes(r), ["quant-ph", "gr-qc", "hep-th", "chao-dyn", "nlin.CD"]);
        let r1 = parse_list_records(&fixture("unit__responses__arxiv__sample_arxiv_record1.xml")).unwrap();
        assert_eq!(r1.records[0].authors, ["Teresa Maria Montaruli for the IceCube Collaboration"]);
        let r2 = parse_list_records(&fixture("unit__responses__arxiv__sample_arxiv_record2.xml")).unwrap();
        // `&quot;` in the comments is decoded.
        assert!(r2.records[0].comments.as_deref().unwrap().contains("\"The 8th International Workshop"));
    }

    #[test]
    fn arxiv_raw_versions() {
        let page = parse_list_records(&fixture("spec_arXivRaw_GetRecord_0704.0001.xml")).unwrap();
        let r = &page.records[0];
        assert_eq!(r.id.to_string(), "0704.0001v2");
        assert_eq!(r.authors, ["C. Bal\\'azs", "E. L. Berger", "P. M. Nadolsky", "C.-P. Yuan"]);
        assert_eq!(r.submitted.unwrap().to_rfc3339(), "2007-04-02T19:18:42+00:00");
        assert_eq!(r.updated.unwrap().to_rfc3339(), "2007-07-24T20:10:27+00:00");
        assert_eq!(codes(r), ["hep-ph"]);
    }

    #[test]
    fn deleted_records_and_final_token() {
        let page = parse_list_records(&fixture("spec_ListRecords_deleted_last_page.xml")).unwrap();
        assert_eq!(page.deleted, [ArxivId::parse("0901.0001").unwrap()]);
        assert_eq!(page.records.len(), 1);
        assert_eq!(page.records[0].authors, ["Hans Müller Jr"]);
        assert_eq!(page.records[0].title, "A title with <script> & an ampersand");
        assert_eq!(page.skipped.len(), 1, "{:?}", page.skipped);
        assert_eq!(page.skipped[0].what, "oai:arXiv.org:0901.0003");
        let token = page.resumption_token.unwrap();
        assert!(token.is_final());
        assert_eq!((token.complete_list_size, token.cursor), (Some(1003), Some(1000)));
    }

    #[test]
    fn protocol_errors() {
        for (file, code) in [
            ("spec_error_noRecordsMatch.xml", OaiErrorCode::NoRecordsMatch),
            ("spec_error_badResumptionToken.xml", OaiErrorCode::BadResumptionToken),
            ("spec_error_badArgument_two_errors.xml", OaiErrorCode::BadArgument),
            ("spec_error_idDoesNotExist.xml", OaiErrorCode::IdDoesNotExist),
        ] {
            match parse_list_records(&fixture(file)) {
                Err(OaiError::Protocol { code: got, message }) => {
                    assert_eq!(got, code, "{file}");
                    assert!(!message.is_empty(), "{file}");
                }
                other => panic!("{file}: {other:?}"),
            }
        }
        assert!(parse_list_records(&fixture("spec_error_noRecordsMatch.xml")).unwrap_err().is_no_records_match());
        assert_eq!(OaiErrorCode::parse("somethingNew"), OaiErrorCode::Other("somethingNew".into()));
        assert!(matches!(parse_list_records(b"<html/>"), Err(OaiError::NotOai { .. })));
        // Not an answer: an empty, plain-text or JSON body, or an envelope with neither list nor error.
        for body in [&b""[..], b"OK", b"{\"ListRecords\": []}"] {
            assert!(matches!(parse_list_records(body), Err(OaiError::NotOai { root }) if root.is_empty()));
        }
        let bare = b"<OAI-PMH><responseDate>2024-01-25T00:00:00Z</responseDate></OAI-PMH>";
        assert_eq!(parse_list_records(bare), Err(OaiError::NoList));
    }

    #[test]
    fn truncated_list_keeps_completed_records() {
        let bytes = fixture("oai_dc_ListRecords_cs_2024-01-25_truncated.xml");
        let text = String::from_utf8(bytes).unwrap();
        let cut = text.find("<identifier>oai:arXiv.org:2401.14038").unwrap();
        let err = parse_list_records(&text.as_bytes()[..cut]).unwrap_err();
        let partial = err.partial().expect("partial page");
        assert_eq!(partial.records.len(), 3);
        assert_eq!(partial.resumption_token, None);
    }

    #[test]
    fn never_panics_on_cut_or_garbled_fixtures() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/arxiv/oai/");
        for entry in
            std::fs::read_dir(dir).unwrap().flatten().filter(|e| e.path().extension().is_some_and(|x| x == "xml"))
        {
            let bytes = std::fs::read(entry.path()).unwrap();
            for cut in (0..bytes.len()).step_by(37) {
                let _ = parse_list_records(&bytes[..cut]);
                let mut garbled = bytes.clone();
                garbled[cut] = b"<>&\"'/\0x"[cut % 8];
                let _ = parse_list_records(&garbled);
            }
        }
    }

    #[test]
    fn sets_and_urls() {
        let set = |c: &str| set_for_category(&Category::parse(c).unwrap());
        assert_eq!(set("cs.CL"), "cs");
        assert_eq!(set("math.AG"), "math");
        assert_eq!(set("stat.ML"), "stat");
        assert_eq!(set("eess.IV"), "eess");
        assert_eq!(set("q-bio.NC"), "q-bio");
        assert_eq!(set("hep-th"), "physics:hep-th");
        assert_eq!(set("astro-ph.CO"), "physics:astro-ph");
        assert_eq!(set("cond-mat.mes-hall"), "physics:cond-mat");
        assert_eq!(set("physics.optics"), "physics:physics");
        assert_eq!(set("quant-ph"), "physics:quant-ph");
        assert_eq!(set("chao-dyn"), "physics:nlin");
        let base = "https://export.arxiv.org/oai2";
        let d = |s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok();
        assert_eq!(
            list_records_url(base, "arXiv", Some("physics:hep-th"), d("2024-01-25"), d("2024-01-26")),
            "https://export.arxiv.org/oai2?verb=ListRecords&metadataPrefix=arXiv&set=physics:hep-th&from=2024-01-25&until=2024-01-26"
        );
        assert_eq!(
            list_records_url(base, "oai_dc", None, None, None),
            format!("{base}?verb=ListRecords&metadataPrefix=oai_dc")
        );
        assert_eq!(resume_url(base, "6960524|1001"), format!("{base}?verb=ListRecords&resumptionToken=6960524%7C1001"));
        assert_eq!(
            get_record_url(base, &ArxivId::parse("hep-th/9901001v2").unwrap(), "arXivRaw"),
            format!("{base}?verb=GetRecord&identifier=oai:arXiv.org:hep-th/9901001&metadataPrefix=arXivRaw")
        );
    }
}

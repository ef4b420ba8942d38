//! Reader for the Kaggle `arxiv-metadata-oai-snapshot` JSON-lines dump (and the shared corpus in the same layout).
//!
//! One line is one paper. Fields differ between dumps: the real dump carries `versions` and `authors_parsed`, the
//! shared corpus does not (and uses `update_date` for the announcement day), so both are optional here. Text is
//! kept raw (TeX, hard wraps); the store decodes it for display.
//!
//! Two quirks seen in real data are handled: some dumps store new-style ids as JSON numbers (`"id": 704.0001`,
//! losing the leading zero), and about 2% of the corpus lines list MSC/ACM classes or stray words among the
//! categories (`"cs.RO cs.CV 68T45"`, `"cs.CV, I.4"`); only tokens that look like arXiv category codes are kept.

use std::borrow::Cow;
use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;

use super::xml::parse_datetime;
use crate::domain::{AnnounceKind, Announcement, ArxivId, Category, IdError, PaperRecord, Skipped};

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum KaggleError {
    #[error("not a valid JSON object: {0}")]
    Json(String),
    #[error("the line has no `{field}`")]
    MissingField { id: Option<String>, field: &'static str },
    #[error(transparent)]
    BadId(#[from] IdError),
    #[error("no arXiv category among {raw:?}")]
    NoCategories { id: String, raw: String },
}

impl KaggleError {
    /// The paper id the line carried, where it got that far.
    pub fn id(&self) -> Option<&str> {
        match self {
            KaggleError::MissingField { id, .. } => id.as_deref(),
            KaggleError::NoCategories { id, .. } => Some(id),
            KaggleError::BadId(e) => Some(&e.input),
            KaggleError::Json(_) => None,
        }
    }
}

/// One parsed line: the record and the daily-listing announcements it implies.
///
/// The listing date is v1's submission day (UTC) when `versions` is present, else `update_date`. For the real dump
/// that is an approximation (arXiv announces a submission on the next announcement day, and its `update_date` is the
/// last metadata change); for the shared corpus `update_date` is the true announcement day.
#[derive(Debug, Clone, PartialEq)]
pub struct KaggleRecord {
    pub record: PaperRecord,
    /// `new` in the primary category and `cross` in the others on the listing date; `replace` / `replace-cross`
    /// on the date of every later version. Empty when the line has neither `versions` nor a valid `update_date`.
    pub announcements: Vec<Announcement>,
}

#[derive(Deserialize)]
struct Line<'a> {
    id: Option<IdField>,
    #[serde(borrow)]
    authors: Option<Cow<'a, str>>,
    #[serde(borrow)]
    authors_parsed: Option<Vec<Vec<Cow<'a, str>>>>,
    #[serde(borrow)]
    title: Option<Cow<'a, str>>,
    comments: Option<String>,
    #[serde(borrow)]
    categories: Option<Cow<'a, str>>,
    #[serde(rename = "abstract")]
    abstract_text: Option<String>,
    #[serde(borrow)]
    update_date: Option<Cow<'a, str>>,
    #[serde(borrow)]
    versions: Option<Vec<Version<'a>>>,
    doi: Option<String>,
    #[serde(rename = "journal-ref")]
    journal_ref: Option<String>,
    license: Option<String>,
}

#[derive(Deserialize)]
struct Version<'a> {
    #[serde(borrow)]
    version: Cow<'a, str>,
    #[serde(borrow)]
    created: Cow<'a, str>,
}

/// The `id` field, which is a string in current dumps but a number (`704.0001`) in some older conversions.
struct IdField(String);

impl<'de> Deserialize<'de> for IdField {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = IdField;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an arXiv id as a string or number")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<IdField, E> {
                Ok(IdField(v.to_string()))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<IdField, E> {
                Ok(IdField(id_from_number(v)))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<IdField, E> {
                Ok(IdField(v.to_string()))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<IdField, E> {
                Ok(IdField(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// `704.0001` -> `0704.0001`, `1501.0001` -> `1501.00010`: restore the zero padding a float lost. The number of
/// decimals follows the id scheme (four digits until 1412, five since 1501).
fn id_from_number(v: f64) -> String {
    if (0.0..10_000.0).contains(&v) {
        let yymm = v.trunc();
        if yymm < 1501.0 { format!("{v:09.4}") } else { format!("{v:010.5}") }
    } else {
        v.to_string()
    }
}

/// Parses one line of the dump.
pub fn parse_line(line: &str) -> Result<KaggleRecord, KaggleError> {
    let raw: Line<'_> = serde_json::from_str(line).map_err(|e| KaggleError::Json(e.to_string()))?;
    let id_text = raw.id.map(|i| i.0).ok_or(KaggleError::MissingField { id: None, field: "id" })?;
    let versions = sorted_versions(raw.versions.as_deref().unwrap_or_default());
    let latest = versions.last().map(|(n, _)| *n);
    let id = ArxivId::parse(&id_text)?;
    // The line's id never carries a version; the latest listed version is the one described.
    let id = if id.version().is_none() { id.with_version(latest) } else { id };

    let missing = |field| KaggleError::MissingField { id: Some(id.as_str().to_string()), field };
    let title = raw.title.filter(|t| !t.trim().is_empty()).ok_or_else(|| missing("title"))?;
    let raw_categories = raw.categories.ok_or_else(|| missing("categories"))?;
    let categories = parse_categories(&raw_categories);
    if categories.is_empty() {
        return Err(KaggleError::NoCategories { id: id.as_str().to_string(), raw: raw_categories.into_owned() });
    }

    let update_date = raw.update_date.as_deref().and_then(|d| NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d").ok());
    let submitted = versions.first().map(|(_, at)| *at);
    let updated = versions.last().map(|(_, at)| *at).or_else(|| update_date.and_then(midnight_utc));
    let authors = match raw.authors_parsed.as_deref() {
        Some(parsed) if !parsed.is_empty() => authors_from_parsed(parsed),
        _ => raw.authors.as_deref().map(split_authors).unwrap_or_default(),
    };

    let listing_date = submitted.map(|at| at.date_naive()).or(update_date);
    let announcements = announcements(&id, &categories, listing_date, &versions);
    let record = PaperRecord {
        id,
        title: title.into_owned(),
        abstract_text: raw.abstract_text.unwrap_or_default(),
        authors,
        categories,
        comments: non_blank(raw.comments),
        journal_ref: non_blank(raw.journal_ref),
        doi: non_blank(raw.doi),
        license: non_blank(raw.license),
        submitted,
        updated,
    };
    Ok(KaggleRecord { record, announcements })
}

/// Parses a whole dump (one JSON object per line), skipping blank lines and keeping bad lines as [`Skipped`]
/// (`what` is the id where known, else `line N`, 1-based).
pub fn parse_lines(text: &str) -> (Vec<KaggleRecord>, Vec<Skipped>) {
    let mut records = Vec::new();
    let mut skipped = Vec::new();
    for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        match parse_line(line) {
            Ok(r) => records.push(r),
            Err(e) => skipped.push(Skipped {
                what: e.id().map_or_else(|| format!("line {}", n + 1), |id| format!("{id} (line {})", n + 1)),
                reason: e.to_string(),
            }),
        }
    }
    (records, skipped)
}

fn non_blank(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.trim().is_empty())
}

fn midnight_utc(d: NaiveDate) -> Option<DateTime<Utc>> {
    d.and_hms_opt(0, 0, 0).map(|t| t.and_utc())
}

/// `(version number, created)` pairs in version order; entries with an unreadable number or date are dropped.
fn sorted_versions(versions: &[Version<'_>]) -> Vec<(u32, DateTime<Utc>)> {
    let mut out: Vec<(u32, DateTime<Utc>)> = versions
        .iter()
        .filter_map(|v| {
            let n = v.version.trim().strip_prefix('v')?.parse().ok()?;
            Some((n, parse_datetime(&v.created)?))
        })
        .collect();
    out.sort_by_key(|(n, _)| *n);
    out.dedup_by_key(|(n, _)| *n);
    out
}

/// Space-separated codes, primary first. Tokens that are not arXiv categories of a known archive (MSC `68T45`, ACM
/// `I.4.0;`, words) are dropped; a trailing `,`/`;` is a stray separator. Duplicates keep their first position.
pub fn parse_categories(raw: &str) -> Vec<Category> {
    Category::arxiv_list(raw.split_whitespace())
}

/// `[keyname, forenames, suffix]` -> `Forenames Keyname Suffix`, empty parts left out.
fn authors_from_parsed(parsed: &[Vec<Cow<'_, str>>]) -> Vec<String> {
    parsed
        .iter()
        .filter_map(|parts| {
            let get = |i: usize| parts.get(i).map(|s| s.trim()).unwrap_or("");
            let name = [get(1), get(0), get(2)].into_iter().filter(|p| !p.is_empty()).collect::<Vec<_>>().join(" ");
            (!name.is_empty()).then_some(name)
        })
        .collect()
}

/// Splits a one-string author list on commas and ` and ` (white space normalised; TeX kept for later decoding).
/// Parenthesised affiliations (`A. Jaffe (1) and G. Ritter (1) ((1) Harvard University)`, `R. P. Malik (Bhu)`)
/// are dropped; when the parentheses do not balance they are kept and only the separators count.
pub fn split_authors(authors: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut current = String::new();
    let mut depth = 0usize;
    for c in authors.chars() {
        match c {
            '(' => depth += 1,
            ')' if depth > 0 => depth -= 1,
            ',' if depth == 0 => push_names(&mut names, &std::mem::take(&mut current)),
            _ if depth == 0 => current.push(c),
            _ => {}
        }
    }
    if depth > 0 {
        let mut names = Vec::new();
        for part in authors.split(',') {
            push_names(&mut names, part);
        }
        return names;
    }
    push_names(&mut names, &current);
    names
}

/// Adds the names in one comma-separated part (`B. Two and C. Three`, `and D. Four`).
fn push_names(names: &mut Vec<String>, part: &str) {
    let flat = part.split_whitespace().collect::<Vec<_>>().join(" ");
    let flat = flat.strip_prefix("and ").unwrap_or(&flat);
    names.extend(flat.split(" and ").map(str::trim).filter(|n| !n.is_empty() && *n != "and").map(str::to_string));
}

fn announcements(
    id: &ArxivId,
    categories: &[Category],
    listing_date: Option<NaiveDate>,
    versions: &[(u32, DateTime<Utc>)],
) -> Vec<Announcement> {
    let mut out = Vec::new();
    let unversioned = id.unversioned();
    let mut announce = |date: NaiveDate, primary: AnnounceKind, other: AnnounceKind| {
        for (i, category) in categories.iter().enumerate() {
            let kind = if i == 0 { primary } else { other };
            out.push(Announcement { date, category: category.clone(), id: unversioned.clone(), kind });
        }
    };
    if let Some(date) = listing_date {
        announce(date, AnnounceKind::New, AnnounceKind::Cross);
    }
    for (_, created) in versions.iter().skip(1) {
        announce(created.date_naive(), AnnounceKind::Replace, AnnounceKind::ReplaceCross);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIRST200: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/arxiv/kaggle/arxiv-metadata-oai-snapshot_first200.json"
    ));

    #[test]
    fn first200_parses_completely() {
        let (records, skipped) = parse_lines(FIRST200);
        assert_eq!((records.len(), skipped.len()), (200, 0), "{skipped:?}");
        assert_eq!(records[0].record.id.as_str(), "0704.0001");
        assert_eq!(records[199].record.id.as_str(), "0704.0200");
    }

    #[test]
    fn first_line_values() {
        let line = FIRST200.lines().next().unwrap();
        let KaggleRecord { record: r, announcements: a } = parse_line(line).unwrap();
        assert_eq!(r.id.to_string(), "0704.0001v2");
        assert_eq!(r.title, "Calculation of prompt diphoton production cross sections at Tevatron and\n  LHC energies");
        // authors_parsed wins over the TeX author string and is already decoded there.
        assert_eq!(r.authors, ["C. Balázs", "E. L. Berger", "P. M. Nadolsky", "C. -P. Yuan"]);
        assert_eq!(r.categories, [Category::parse("hep-ph").unwrap()]);
        assert_eq!(r.doi.as_deref(), Some("10.1103/PhysRevD.76.013009"));
        assert_eq!(r.journal_ref.as_deref(), Some("Phys.Rev.D76:013009,2007"));
        assert_eq!(r.license, None);
        assert_eq!(r.submitted.unwrap().to_rfc3339(), "2007-04-02T19:18:42+00:00");
        assert_eq!(r.updated.unwrap().to_rfc3339(), "2007-07-24T20:10:27+00:00");
        let got: Vec<_> = a.iter().map(|a| (a.date.to_string(), a.category.code(), a.kind)).collect();
        assert_eq!(
            got,
            [
                ("2007-04-02".into(), "hep-ph", AnnounceKind::New),
                ("2007-07-24".into(), "hep-ph", AnnounceKind::Replace)
            ]
        );
        assert!(a.iter().all(|a| a.id.version().is_none()));
    }

    #[test]
    fn cross_listing_announcements() {
        let line = FIRST200.lines().nth(1).unwrap();
        let k = parse_line(line).unwrap();
        assert_eq!(k.record.authors, ["Ileana Streinu", "Louis Theran"]);
        let got: Vec<_> =
            k.announcements.iter().map(|a| (a.date.to_string(), a.category.code(), a.kind.as_str())).collect();
        assert_eq!(
            got,
            [
                ("2007-03-31".into(), "math.CO", "new"),
                ("2007-03-31".into(), "cs.CG", "cross"),
                ("2008-12-13".into(), "math.CO", "replace"),
                ("2008-12-13".into(), "cs.CG", "replace-cross"),
            ]
        );
    }

    #[test]
    fn corpus_layout_without_versions() {
        let line = r#"{"id": "2503.12260", "submitter": null, "authors": "A. One, B. Two and C. Three", "title": "T", "comments": null, "journal-ref": null, "doi": null, "report-no": null, "categories": "cs.CV cs.AI, I.4 68T45 cs.CV", "license": null, "abstract": "x", "update_date": "2025-03-18"}"#;
        let k = parse_line(line).unwrap();
        assert_eq!(k.record.id.to_string(), "2503.12260");
        assert_eq!(k.record.authors, ["A. One", "B. Two", "C. Three"]);
        assert_eq!(k.record.categories.iter().map(Category::code).collect::<Vec<_>>(), ["cs.CV", "cs.AI"]);
        assert_eq!(k.record.submitted, None);
        assert_eq!(k.record.updated.unwrap().to_rfc3339(), "2025-03-18T00:00:00+00:00");
        assert_eq!(k.announcements.len(), 2);
        assert_eq!(k.announcements[1].kind, AnnounceKind::Cross);
    }

    #[test]
    fn author_strings() {
        let split = |s| split_authors(s);
        assert_eq!(split("A. One, B. Two, and C. Three"), ["A. One", "B. Two", "C. Three"]);
        assert_eq!(
            split("Arthur Jaffe (1) and Gordon Ritter (1) ((1) Harvard University)"),
            ["Arthur Jaffe", "Gordon Ritter"]
        );
        assert_eq!(
            split("A. A. Schekochihin (Oxford), S. C. Cowley (Culham), W. Dorland\n  (Maryland)"),
            ["A. A. Schekochihin", "S. C. Cowley", "W. Dorland"]
        );
        assert_eq!(split("Donald Johann Jr. and Fred Prior"), ["Donald Johann Jr.", "Fred Prior"]);
        assert_eq!(split("X (unbalanced, Y"), ["X (unbalanced", "Y"]);
        assert_eq!(split(" "), Vec::<String>::new());
        // The real dump's first line without `authors_parsed`: TeX stays for the store to decode.
        assert_eq!(split("C. Bal\\'azs, E. L. Berger"), ["C. Bal\\'azs", "E. L. Berger"]);
    }

    #[test]
    fn numeric_and_old_style_ids() {
        let base = r#""title":"T","categories":"math.GT","abstract":"a","update_date":"2007-05-01""#;
        let k = parse_line(&format!(r#"{{"id":704.0001,{base}}}"#)).unwrap();
        assert_eq!(k.record.id.as_str(), "0704.0001");
        let k = parse_line(&format!(r#"{{"id":1501.0001,{base}}}"#)).unwrap();
        assert_eq!(k.record.id.as_str(), "1501.00010");
        let k = parse_line(&format!(r#"{{"id":"math/0309136",{base}}}"#)).unwrap();
        assert!(k.record.id.is_old_style());
    }

    #[test]
    fn malformed_lines_give_clear_errors() {
        assert!(matches!(parse_line("not json"), Err(KaggleError::Json(_))));
        assert!(matches!(
            parse_line(r#"{"title":"T","categories":"cs.CL"}"#),
            Err(KaggleError::MissingField { field: "id", .. })
        ));
        assert!(matches!(
            parse_line(r#"{"id":"2401.01234","categories":"cs.CL"}"#),
            Err(KaggleError::MissingField { field: "title", .. })
        ));
        assert!(matches!(parse_line(r#"{"id":"24x","title":"T","categories":"cs.CL"}"#), Err(KaggleError::BadId(_))));
        let e = parse_line(r#"{"id":"2401.01234","title":"T","categories":" 68T45 "}"#).unwrap_err();
        assert!(matches!(e, KaggleError::NoCategories { .. }));
        assert_eq!(e.id(), Some("2401.01234"));
        let (ok, skipped) = parse_lines("{}\n\n[1,2]\n");
        assert!(ok.is_empty());
        assert_eq!(skipped.iter().map(|s| s.what.as_str()).collect::<Vec<_>>(), ["line 1", "line 3"]);
    }

    #[test]
    fn never_panics_on_cut_lines() {
        for line in FIRST200.lines().take(20) {
            for cut in (0..line.len()).step_by(7).filter(|&c| line.is_char_boundary(c)) {
                let _ = parse_line(&line[..cut]);
            }
        }
    }

    /// The first 2,000 lines of the shared CS corpus (skipped when absent) all parse, and fast.
    #[test]
    fn shared_corpus_head() {
        use std::io::{BufRead, BufReader};
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data/arxiv-cs-2025-2026.jsonl.gz");
        let Ok(file) = std::fs::File::open(path) else {
            println!("skipped: {path} is absent");
            return;
        };
        let lines: Vec<String> = BufReader::new(flate2::read::GzDecoder::new(file))
            .lines()
            .take(2000)
            .map(|l| l.expect("gzip text"))
            .collect();
        let start = std::time::Instant::now();
        let parsed: Vec<_> = lines.iter().map(|l| parse_line(l)).collect();
        let elapsed = start.elapsed();
        let errors: Vec<_> = parsed.iter().filter_map(|p| p.as_ref().err()).collect();
        assert!(errors.is_empty(), "{errors:?}");
        assert!(
            parsed
                .iter()
                .flatten()
                .all(|k| !k.record.authors.is_empty() && k.announcements[0].kind == AnnounceKind::New)
        );
        // 2,000 lines must take well under 1/35 of the 2 s budget for the 70k-line import.
        assert!(elapsed.as_millis() < 500, "2,000 lines took {elapsed:?}");
    }

    /// The whole shared corpus: every line parses, within the importer's budget (run with `--ignored`; timing is
    /// only meaningful in an optimised build).
    #[test]
    #[ignore = "reads the whole 70k-line corpus"]
    fn shared_corpus_full() {
        use std::io::Read;
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data/arxiv-cs-2025-2026.jsonl.gz");
        let Ok(file) = std::fs::File::open(path) else {
            println!("skipped: {path} is absent");
            return;
        };
        let mut text = String::new();
        flate2::read::GzDecoder::new(file).read_to_string(&mut text).expect("gzip text");
        let start = std::time::Instant::now();
        let (records, skipped) = parse_lines(&text);
        let elapsed = start.elapsed();
        println!("{} records, {} skipped, {elapsed:?}", records.len(), skipped.len());
        assert!(skipped.is_empty(), "{:?}", &skipped[..skipped.len().min(5)]);
        assert!(elapsed.as_secs_f64() < 2.0, "{elapsed:?}");
    }
}

//! CVF Open Access (openaccess.thecvf.com): the listing of a conference's papers,
//! `https://openaccess.thecvf.com/{CONF}?day=all` (`CVPR2024`), and each paper's page,
//! `/content/{CONF}/html/{slug}.html`.
//!
//! In the listing, each paper is a `<dt class="ptitle"><br><a href="/content/CVPR2024/html/{slug}.html">Title</a>
//! </dt>` followed by a `<dd>` of author search forms (`<form class="authsearch">` with
//! `<input type="hidden" name="query_author" value="Jane Smith">`), then a `<dd>` of links: `[pdf]`, optional
//! `[supp]`, optional `[arXiv]` (`http://arxiv.org/abs/2312.01234`), and a `<div class="bibref">` holding the
//! paper's BibTeX (month and year, read here as the publication month). Abstracts are only on the paper pages,
//! `<div id="abstract">…</div>` ([`parse_abstract`]). Some years list papers by day (`?day=2024-06-19`); the bare
//! `/{CONF}` page then holds only the day links ([`day_links`]), which the ingester follows when `day=all` lists
//! nothing.
//!
//! No real recorded page could be found (tests/fixtures/venues/PROVENANCE.md, section 4), so this parser and its
//! tests follow the markup as documented above; the samples in the tests are written by hand.

use chrono::NaiveDate;
use scraper::{ElementRef, Html, Selector};

use super::{ParseError, Parsed};
use crate::domain::tex::normalize_whitespace;
use crate::domain::{ArxivId, Edition, PaperKey, Skipped, VenueRecord};

const EXPECTED: &str = "a CVF Open Access listing";

/// Where relative links of the listing point: the CVF site itself, whatever mirror the page came from.
const SITE: &str = "https://openaccess.thecvf.com";

/// The listing of all of a conference's papers (`CVPR2024`).
pub fn listing_url(base: &str, conference: &str) -> String {
    format!("{}/{conference}?day=all", base.trim_end_matches('/'))
}

/// A paper's page, where its abstract is.
pub fn paper_url(base: &str, conference: &str, slug: &str) -> String {
    format!("{}/content/{conference}/html/{slug}.html", base.trim_end_matches('/'))
}

fn selector(css: &str) -> Selector {
    Selector::parse(css).expect("a constant CSS selector parses")
}

/// Reads the papers of a listing page; abstracts are left empty (they are on the paper pages).
///
/// A conference name that is not one (`CVPR2024` is) gives no records and one skipped entry saying so. A page
/// cut off before `</html>` loses its last paper, which may be incomplete, to a skipped entry. `Err` only when
/// the page is not a CVF listing at all: empty, or with neither papers, day links nor a CVF title.
pub fn parse_listing(html: &str, conference: &str) -> Result<Parsed, ParseError> {
    if html.trim().is_empty() {
        return Err(ParseError::Format { expected: EXPECTED, detail: "empty document".into() });
    }
    let doc = Html::parse_document(html);
    let titles: Vec<ElementRef<'_>> = doc.select(&selector("dt.ptitle")).collect();
    if titles.is_empty() && day_links(html).is_empty() && !has_cvf_title(&doc) {
        let title = doc.select(&selector("title")).next().map(|t| normalize_whitespace(&t.text().collect::<String>()));
        let detail = format!("no papers, day links or CVF title (title {:?})", title.unwrap_or_default());
        return Err(ParseError::Format { expected: EXPECTED, detail });
    }
    let mut parsed = Parsed::default();
    let edition = match Edition::parse(conference) {
        Ok(edition) => edition,
        Err(e) => {
            let reason = format!("invalid conference: {} (e.g. CVPR2024)", e.reason);
            parsed.skipped.push(Skipped { what: conference.chars().take(40).collect(), reason });
            return Ok(parsed);
        }
    };
    let mut results: Vec<(String, Result<VenueRecord, String>)> =
        titles.iter().enumerate().map(|(index, dt)| read_paper(*dt, index, conference, &edition)).collect();
    let truncated = !html.to_ascii_lowercase().contains("</html>");
    parsed.partial = truncated;
    if truncated && let Some((what, _)) = results.pop() {
        let reason = "truncated document: the page ends inside or after this paper".to_string();
        parsed.skipped.push(Skipped { what, reason });
    }
    for (what, result) in results {
        match result {
            Ok(record) => parsed.records.push(record),
            Err(reason) => parsed.skipped.push(Skipped { what, reason }),
        }
    }
    Ok(parsed)
}

fn has_cvf_title(doc: &Html) -> bool {
    doc.select(&selector("title")).any(|t| t.text().collect::<String>().to_lowercase().contains("open access"))
}

/// One `dt.ptitle` and the `dd`s after it, to the next `dt`, with what names the paper in a skipped entry.
fn read_paper(
    dt: ElementRef<'_>,
    index: usize,
    conference: &str,
    edition: &Edition,
) -> (String, Result<VenueRecord, String>) {
    let link = dt.select(&selector("a[href]")).next();
    let href = link.and_then(|a| a.attr("href")).unwrap_or_default();
    let slug = href.rsplit('/').next().and_then(|name| name.strip_suffix(".html")).unwrap_or_default();
    let what = if slug.is_empty() { format!("paper {}", index + 1) } else { slug.to_string() };
    let title = normalize_whitespace(&link.map(|a| a.text().collect::<String>()).unwrap_or_default());
    (what, build_record(dt, slug, title, conference, edition))
}

fn build_record(
    dt: ElementRef<'_>,
    slug: &str,
    title: String,
    conference: &str,
    edition: &Edition,
) -> Result<VenueRecord, String> {
    if slug.is_empty() {
        return Err("invalid key: no paper page link".to_string());
    }
    let key = PaperKey::parse(&format!("cvf:{conference}/{slug}")).map_err(|e| format!("invalid key: {}", e.reason))?;
    if title.is_empty() {
        return Err("no title".to_string());
    }
    let mut record = VenueRecord {
        key,
        edition: edition.clone(),
        track: None,
        title,
        abstract_text: String::new(),
        authors: Vec::new(),
        keywords: Vec::new(),
        pdf_url: None,
        doi: None,
        arxiv_id: None,
        published: None,
    };
    let details = dt.next_siblings().filter_map(ElementRef::wrap).take_while(|e| e.value().name() != "dt");
    for dd in details.filter(|e| e.value().name() == "dd") {
        read_details(dd, &mut record);
    }
    Ok(record)
}

/// Authors, links and the BibTeX of one `dd`.
fn read_details(dd: ElementRef<'_>, record: &mut VenueRecord) {
    for form in dd.select(&selector("form.authsearch")) {
        // The hidden input holds the name as searched; the link text is the same name with a trailing comma.
        let name = form
            .select(&selector("input[name=query_author]"))
            .next()
            .and_then(|input| input.attr("value"))
            .map(normalize_whitespace)
            .unwrap_or_else(|| {
                let text: String = form.text().collect();
                normalize_whitespace(text.trim_end_matches(|c: char| c == ',' || c.is_whitespace()))
            });
        if !name.is_empty() {
            record.authors.push(name);
        }
    }
    for a in dd.select(&selector("a[href]")) {
        let href = a.attr("href").unwrap_or_default().trim();
        let text = normalize_whitespace(&a.text().collect::<String>());
        if text.eq_ignore_ascii_case("pdf") && record.pdf_url.is_none() {
            record.pdf_url = Some(absolute(href));
        } else if record.arxiv_id.is_none() && (text.eq_ignore_ascii_case("arxiv") || href.contains("arxiv.org/abs/")) {
            // A malformed link loses only the link, not the paper.
            record.arxiv_id =
                href.split_once("/abs/").and_then(|(_, id)| ArxivId::parse(id.trim_end_matches('/')).ok());
        }
    }
    if let Some(bibref) = dd.select(&selector("div.bibref")).next() {
        let bib = bibref.text().collect::<String>();
        if let Some(fields) = super::pmlr::first_entry_fields(&bib) {
            let get = |name: &str| fields.iter().find(|(n, _)| n == name).map(|(_, v)| v.trim());
            let year = get("year").and_then(|y| y.parse::<i32>().ok());
            let month = get("month").and_then(super::acl::month_number);
            record.published = year.zip(month).and_then(|(y, m)| NaiveDate::from_ymd_opt(y, m, 1));
        }
    }
}

fn absolute(href: &str) -> String {
    if href.starts_with("https://") || href.starts_with("http://") {
        href.to_string()
    } else {
        format!("{SITE}/{}", href.trim_start_matches('/'))
    }
}

/// The abstract of a paper page (`<div id="abstract">`), white space folded; `None` when the page has none, or
/// is cut off before the abstract's end.
pub fn parse_abstract(html: &str) -> Option<String> {
    let at = html.find("id=\"abstract\"").or_else(|| html.find("id='abstract'"))?;
    if !html[at..].contains("</div>") {
        return None;
    }
    let doc = Html::parse_document(html);
    let div = doc.select(&selector("div#abstract")).next()?;
    let text = normalize_whitespace(&div.text().collect::<String>());
    (!text.is_empty()).then_some(text)
}

/// The `?day=…` links of a conference page (`/CVPR2024?day=2024-06-19`), as written and in order, without
/// duplicates and without `day=all` (which is what the caller already has).
pub fn day_links(html: &str) -> Vec<String> {
    let doc = Html::parse_document(html);
    let mut out: Vec<String> = Vec::new();
    for a in doc.select(&selector("a[href]")) {
        let href = a.attr("href").unwrap_or_default().trim();
        let day = href.split_once("?day=").or_else(|| href.split_once("&day=")).map(|(_, d)| d);
        if day.is_some_and(|d| !d.is_empty() && !d.starts_with("all")) && !out.iter().any(|o| o == href) {
            out.push(href.to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    // No real recorded page exists (PROVENANCE.md, section 4): the pages below are written by hand to the
    // documented markup, with invented papers.

    const LISTING: &str = r##"<!DOCTYPE html>
<html><head><title>CVPR 2024 Open Access Repository</title></head>
<body><div id="content"><dl>
<dt class="ptitle"><br><a href="/content/CVPR2024/html/Smith_A_Title_CVPR_2024_paper.html">A   Title about
 Vision</a></dt>
<dd>
<form id="form-Jane-Smith" action="/CVPR2024" method="post" class="authsearch">
<input type="hidden" name="query_author" value="Jane Smith">
<a href="#" onclick="document.getElementById('form-Jane-Smith').submit();">Jane Smith</a>,
</form>
<form id="form-Li-Wei" action="/CVPR2024" method="post" class="authsearch">
<input type="hidden" name="query_author" value="Li  Wei">
<a href="#" onclick="document.getElementById('form-Li-Wei').submit();">Li Wei</a>
</form>
</dd>
<dd>
[<a href="/content/CVPR2024/papers/Smith_A_Title_CVPR_2024_paper.pdf">pdf</a>]
[<a href="/content/CVPR2024/supplemental/Smith_A_Title_CVPR_2024_supplemental.pdf">supp</a>]
[<a href="http://arxiv.org/abs/2312.01234">arXiv</a>]
<div class="link2">[<a class="fakelink" onclick="$(this).siblings('.bibref').slideToggle()">bibtex</a>]
<div class="bibref pre-white-space">@InProceedings{Smith_2024_CVPR,
    author    = {Smith, Jane and Wei, Li},
    title     = {A Title about Vision},
    booktitle = {Proceedings of the IEEE/CVF Conference on Computer Vision and Pattern Recognition (CVPR)},
    month     = {June},
    year      = {2024},
    pages     = {1-10}
}</div>
</div>
</dd>
<dt class="ptitle"><br><a href="/content/CVPR2024/html/Doe_Second_Paper_CVPR_2024_paper.html">Second Paper</a></dt>
<dd>
<form id="form-John-Doe" action="/CVPR2024" method="post" class="authsearch">
<input type="hidden" name="query_author" value="John Doe">
<a href="#">John Doe</a>
</form>
</dd>
<dd>
[<a href="/content/CVPR2024/papers/Doe_Second_Paper_CVPR_2024_paper.pdf">pdf</a>]
[<a href="https://arxiv.org/abs/not-an-id">arXiv</a>]
</dd>
<dt class="ptitle"><br><a href="/content/CVPR2024/html/Untitled_CVPR_2024_paper.html"> </a></dt>
<dd><form class="authsearch"><input type="hidden" name="query_author" value="Nemo"></form></dd>
<dt class="ptitle"><br><a href="/content/CVPR2024/html/Bad%20Name_CVPR_2024_paper.html">Bad Link</a></dt>
<dd></dd>
<dt class="ptitle"><br><a href="/content/CVPR2024/html/Last_One_CVPR_2024_paper.html">Last One</a></dt>
<dd><form class="authsearch"><input type="hidden" name="query_author" value="Ana Last"></form></dd>
<dd>[<a href="/content/CVPR2024/papers/Last_One_CVPR_2024_paper.pdf">pdf</a>]</dd>
</dl></div></body></html>
"##;

    #[test]
    fn listing_papers_with_links() {
        let parsed = parse_listing(LISTING, "CVPR2024").unwrap();
        assert_eq!(parsed.total, None);
        let keys: Vec<String> = parsed.records.iter().map(|r| r.key.to_string()).collect();
        assert_eq!(
            keys,
            [
                "cvf:CVPR2024/Smith_A_Title_CVPR_2024_paper",
                "cvf:CVPR2024/Doe_Second_Paper_CVPR_2024_paper",
                "cvf:CVPR2024/Last_One_CVPR_2024_paper"
            ]
        );
        let first = &parsed.records[0];
        assert_eq!(
            first.key,
            PaperKey::Cvf { conference: "CVPR2024".into(), slug: "Smith_A_Title_CVPR_2024_paper".into() }
        );
        assert_eq!(first.edition.to_string(), "CVPR.2024");
        assert_eq!(first.title, "A Title about Vision");
        assert_eq!(first.authors, ["Jane Smith", "Li Wei"]);
        assert_eq!(first.abstract_text, "");
        assert_eq!(
            first.pdf_url.as_deref(),
            Some("https://openaccess.thecvf.com/content/CVPR2024/papers/Smith_A_Title_CVPR_2024_paper.pdf")
        );
        assert_eq!(first.arxiv_id, Some(ArxivId::parse("2312.01234").unwrap()));
        assert_eq!(first.published, NaiveDate::from_ymd_opt(2024, 6, 1));
        assert_eq!(first.track, None);
        let second = &parsed.records[1];
        assert_eq!(second.authors, ["John Doe"]);
        assert_eq!(second.arxiv_id, None);
        assert_eq!(second.published, None);
        assert_eq!(parsed.records[2].authors, ["Ana Last"]);

        let skipped: Vec<(&str, &str)> = parsed.skipped.iter().map(|s| (s.what.as_str(), s.reason.as_str())).collect();
        assert_eq!(skipped.len(), 2, "{skipped:?}");
        assert_eq!(skipped[0], ("Untitled_CVPR_2024_paper", "no title"));
        assert_eq!(skipped[1].0, "Bad%20Name_CVPR_2024_paper");
        assert!(skipped[1].1.starts_with("invalid key: "), "{}", skipped[1].1);
    }

    #[test]
    fn truncated_listing_drops_its_last_paper() {
        let cut = LISTING.find("Doe_Second_Paper_CVPR_2024_paper.pdf").unwrap();
        let parsed = parse_listing(&LISTING[..cut], "CVPR2024").unwrap();
        assert_eq!(parsed.records.len(), 1);
        assert_eq!(parsed.records[0].title, "A Title about Vision");
        assert_eq!(parsed.skipped.len(), 1);
        assert_eq!(parsed.skipped[0].what, "Doe_Second_Paper_CVPR_2024_paper");
        assert!(parsed.skipped[0].reason.starts_with("truncated document"));
        assert!(!parsed.whole());
        assert!(parse_listing(LISTING, "CVPR2024").unwrap().whole());
    }

    #[test]
    fn not_a_listing_or_not_a_conference() {
        for bad in ["", "  ", "<html><head><title>Just a moment...</title></head><body></body></html>", "{\"a\": 1}"] {
            assert!(parse_listing(bad, "CVPR2024").is_err(), "{bad:?}");
        }
        let parsed = parse_listing(LISTING, "CVPR2024W").unwrap();
        assert!(parsed.records.is_empty());
        assert!(parsed.skipped[0].reason.starts_with("invalid conference"), "{:?}", parsed.skipped);
        // A listing with no papers (a day-grouped conference) is a listing, not an error.
        let empty = "<html><head><title>CVPR 2024 Open Access Repository</title></head><body><dl></dl></body></html>";
        let parsed = parse_listing(empty, "CVPR2024").unwrap();
        assert!(parsed.records.is_empty() && parsed.skipped.is_empty());
    }

    #[test]
    fn day_links_of_a_grouped_conference() {
        let page = r##"<html><head><title>CVPR 2024 Open Access Repository</title></head><body><div id="content">
            <dl><dd><a href="/CVPR2024?day=2024-06-19">Day 1: 2024-06-19</a></dd>
            <dd><a href="/CVPR2024?day=2024-06-20">Day 2: 2024-06-20</a></dd>
            <dd><a href="/CVPR2024?day=2024-06-19">Day 1 again</a></dd>
            <dd><a href="/CVPR2024?day=all">All Papers</a></dd>
            <dd><a href="/menu">Home</a></dd></dl></div></body></html>"##;
        assert_eq!(day_links(page), ["/CVPR2024?day=2024-06-19", "/CVPR2024?day=2024-06-20"]);
        let parsed = parse_listing(page, "CVPR2024").unwrap();
        assert!(parsed.records.is_empty());
        assert!(day_links(LISTING).is_empty());
    }

    #[test]
    fn abstracts_of_paper_pages() {
        let page = r#"<html><body><div id="content"><dl><dd><div id="papertitle">A Title</div>
            <div id="abstract">
            We   propose a method.
            It works.</div><font size="5"><br><b>Related Material</b></font></dd></dl></div></body></html>"#;
        assert_eq!(parse_abstract(page).as_deref(), Some("We propose a method. It works."));
        assert_eq!(parse_abstract("<html><body><div id=\"abstract\"> </div></body></html>"), None);
        assert_eq!(parse_abstract("<html><body>no abstract</body></html>"), None);
        assert_eq!(parse_abstract(&page[..page.find("It works").unwrap()]), None);
        assert_eq!(parse_abstract(""), None);
    }

    proptest::proptest! {
        #[test]
        fn never_panics_on_html_soup(
            parts in proptest::collection::vec(
                "(<dt class=\"ptitle\">|<a href=\"/content/CVPR2024/html/X_CVPR_2024_paper.html\">|<a href=\"?day=1\">|</a>|<dd>|<form class=\"authsearch\">|<input name=\"query_author\" value=\"A\">|<div class=\"bibref\">|<div id=\"abstract\">|</div>|@InProceedings\\{|month = \\{June\\}|é|\u{a0}|</html>|[ a-zA-Z0-9]{0,4})",
                0..40,
            )
        ) {
            let doc = parts.concat();
            let _ = parse_listing(&doc, "CVPR2024");
            let _ = parse_abstract(&doc);
            let _ = day_links(&doc);
        }
    }

    #[test]
    fn urls() {
        assert_eq!(
            listing_url("https://openaccess.thecvf.com/", "CVPR2024"),
            "https://openaccess.thecvf.com/CVPR2024?day=all"
        );
        assert_eq!(
            paper_url("https://openaccess.thecvf.com", "CVPR2024", "Smith_A_Title_CVPR_2024_paper"),
            "https://openaccess.thecvf.com/content/CVPR2024/html/Smith_A_Title_CVPR_2024_paper.html"
        );
    }
}

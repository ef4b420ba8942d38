//! arXiv's daily listing feeds, in the three shapes they have had:
//!
//! - **RSS 2.0** (`rss.arxiv.org/rss/<cat>`, since 2024): one `<item>` per listing line with
//!   `arxiv:announce_type` (`new`, `cross`, `replace`, `replace-cross`), `guid` `oai:arXiv.org:2203.01250v3`,
//!   `dc:creator` as one comma-separated string, `category` elements (primary first), and a `description` of the
//!   form `arXiv:2203.01250v3 Announce Type: replace-cross \nAbstract: ...`. The channel `pubDate` is the
//!   announcement day.
//! - **Atom** (`rss.arxiv.org/atom/<cat>`): the same content as `<entry>`s (`id`, `summary`, `category term`,
//!   `published` = announcement day, `arxiv:announce_type`, `dc:creator`).
//! - **RSS 1.0 / RDF** (before 2024): no announce type. The title carries it:
//!   `Title. (arXiv:1805.06430v2 [nucl-th] UPDATED)` gives id, version and primary category; `UPDATED` marks a
//!   replacement and `CROSS LISTED`, or a primary category other than the feed's, a cross-list. Description and
//!   `dc:creator` are escaped HTML (`<p>`, author links), reduced to text here.
//!
//! A feed without items is valid (arXiv publishes empty feeds on weekends and holidays). Items that cannot be used
//! are skipped with a reason; a document cut off part-way is an error carrying the items completed before the cut.

use chrono::NaiveDate;

use super::kaggle::split_authors;
use super::xml::{Ev, XmlError, XmlStream, non_empty, parse_local_date};
use crate::domain::{AnnounceKind, ArxivId, Category, PaperRecord, Skipped};

/// What a daily feed is: RSS 2.0, Atom, or (before 2024) RSS 1.0.
pub const DOCUMENT: crate::net::http::Expected =
    crate::net::http::Expected { what: "an RSS or Atom feed", roots: &["rss", "feed", "RDF"] };

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RssError {
    /// The body is none of the three feed formats (an HTML error page, a proxy's reply).
    #[error("not an arXiv RSS/Atom feed ({})", super::xml::describe_root(root))]
    NotAFeed { root: String },
    /// The XML broke off or went bad part-way; `partial` holds every item completed before that point.
    #[error("feed unreadable after {} items: {cause}", partial.items.len())]
    Malformed { cause: XmlError, partial: Box<Feed> },
}

impl RssError {
    /// The items read before a truncation or syntax error.
    pub fn partial(&self) -> Option<&Feed> {
        match self {
            RssError::Malformed { partial, .. } => Some(partial),
            RssError::NotAFeed { .. } => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FeedFormat {
    #[default]
    Rss2,
    Atom,
    Rss1,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Feed {
    pub format: FeedFormat,
    /// The categories the feed lists, from its title (`math.OC updates on arXiv.org`, `cs.AI, cs.CL updates ...`).
    pub feed_categories: Vec<Category>,
    /// The announcement day: channel `pubDate` (RSS 2.0), feed `updated` (Atom), channel `dc:date` (RSS 1.0), each
    /// taken as the calendar date in the time zone the feed wrote it in.
    pub date: Option<NaiveDate>,
    pub items: Vec<FeedItem>,
    pub skipped: Vec<Skipped>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FeedItem {
    /// The id carries the announced version. `submitted`/`updated` are unknown from a feed and left `None`.
    pub record: PaperRecord,
    pub kind: AnnounceKind,
    /// The feed category this item is listed under: for multi-category or archive feeds the first feed category
    /// the item belongs to, else the feed's first category; `None` when the feed names none.
    pub listed_category: Option<Category>,
    /// The item's own announcement date (`pubDate` / `published`), where the feed gives one.
    pub announced: Option<NaiveDate>,
}

/// Fields of one item/entry as read, in any of the formats.
#[derive(Default)]
struct RawItem {
    about: Option<String>,
    title: String,
    link: Option<String>,
    description: String,
    guid: Option<String>,
    categories: Vec<String>,
    pub_date: Option<NaiveDate>,
    announce_type: Option<String>,
    rights: Option<String>,
    doi: Option<String>,
    journal_ref: Option<String>,
    creators: Vec<String>,
}

/// Parses a daily feed in any of the three formats.
pub fn parse_feed(bytes: &[u8]) -> Result<Feed, RssError> {
    let mut feed = Feed::default();
    match read_feed(bytes, &mut feed) {
        Ok(()) => Ok(feed),
        Err(Failure::NotAFeed(root)) => Err(RssError::NotAFeed { root }),
        Err(Failure::Xml(cause)) => Err(RssError::Malformed { cause, partial: Box::new(feed) }),
    }
}

enum Failure {
    NotAFeed(String),
    Xml(XmlError),
}

impl From<XmlError> for Failure {
    fn from(e: XmlError) -> Self {
        Failure::Xml(e)
    }
}

fn read_feed(bytes: &[u8], feed: &mut Feed) -> Result<(), Failure> {
    let mut xml = XmlStream::new(bytes);
    // Only the first top-level title names the feed's categories.
    let mut title_seen = false;
    let mut item: Option<RawItem> = None;
    let mut seen_root = false;
    loop {
        match xml.next_event()? {
            Ev::Start { el, empty } => {
                let local = el.local().to_string();
                if !seen_root {
                    feed.format = match local.as_str() {
                        "rss" => FeedFormat::Rss2,
                        "feed" => FeedFormat::Atom,
                        "RDF" => FeedFormat::Rss1,
                        _ => return Err(Failure::NotAFeed(local)),
                    };
                    seen_root = true;
                    continue;
                }
                match item.as_mut() {
                    None if !empty && (local == "item" || local == "entry") => {
                        item = Some(RawItem { about: el.attr("about"), ..RawItem::default() });
                    }
                    None if !empty => read_channel_field(&mut xml, feed, &mut title_seen, &local)?,
                    None => {}
                    Some(it) => match local.as_str() {
                        "category" => {
                            // RSS: <category>math.AP</category>; Atom: <category term="math.AP"/>.
                            if let Some(term) = el.attr("term") {
                                it.categories.push(term);
                                if !empty {
                                    xml.skip()?;
                                }
                            } else if !empty {
                                it.categories.push(xml.read_text()?.trim().to_string());
                            }
                        }
                        "link" if empty || el.attr("href").is_some() => {
                            if el.attr("rel").is_none_or(|r| r == "alternate") {
                                it.link = el.attr("href");
                            }
                            if !empty {
                                xml.skip()?;
                            }
                        }
                        _ if !empty => read_item_field(&mut xml, it, &local)?,
                        _ => {}
                    },
                }
            }
            Ev::End(name) if name == "item" || name == "entry" => {
                if let Some(raw) = item.take() {
                    finish_item(raw, feed);
                }
            }
            Ev::Eof if !seen_root => return Err(Failure::NotAFeed(String::new())),
            Ev::Eof => return Ok(()),
            Ev::End(_) => {}
        }
    }
}

/// Channel-level (RSS) or feed-level (Atom) elements; anything inside `<image>`, `<items>`, `<skipDays>` is ignored.
fn read_channel_field(
    xml: &mut XmlStream<'_>,
    feed: &mut Feed,
    title_seen: &mut bool,
    local: &str,
) -> Result<(), XmlError> {
    let top_level = match feed.format {
        FeedFormat::Atom => xml.path().len() == 2,
        FeedFormat::Rss2 | FeedFormat::Rss1 => xml.path().len() == 3 && xml.inside("channel"),
    };
    if !top_level {
        // <channel> itself is entered; anything else off the channel level (RSS 1.0's sibling <image>) is skipped.
        return if local == "channel" { Ok(()) } else { xml.skip() };
    }
    match local {
        "title" if !*title_seen => {
            *title_seen = true;
            feed.feed_categories = categories_from_title(&xml.read_text()?);
        }
        "pubDate" | "date" | "updated" if feed.date.is_none() => feed.date = parse_local_date(&xml.read_text()?),
        _ => xml.skip()?,
    }
    Ok(())
}

fn read_item_field(xml: &mut XmlStream<'_>, it: &mut RawItem, local: &str) -> Result<(), XmlError> {
    match local {
        "title" => it.title = xml.read_text()?,
        "link" => it.link = non_empty(xml.read_text()?.trim().to_string()),
        "description" | "summary" => it.description = xml.read_text()?,
        "guid" | "id" => it.guid = non_empty(xml.read_text()?.trim().to_string()),
        "pubDate" | "published" => it.pub_date = parse_local_date(&xml.read_text()?),
        "announce_type" => it.announce_type = non_empty(xml.read_text()?.trim().to_string()),
        "rights" => it.rights = non_empty(xml.read_text()?.trim().to_string()),
        "DOI" | "doi" => it.doi = non_empty(xml.read_text()?.trim().to_string()),
        "journal_reference" | "journal_ref" => it.journal_ref = non_empty(xml.read_text()?.trim().to_string()),
        "creator" => it.creators.push(xml.read_text()?),
        // Atom's standard <author><name>; the element itself is a container.
        "author" => {}
        "name" if xml.inside("author") => it.creators.push(xml.read_text()?),
        _ => xml.skip()?,
    }
    Ok(())
}

/// `math.OC updates on arXiv.org` -> [math.OC]; `cs.AI, cs.CL updates on arXiv.org` -> [cs.AI, cs.CL].
fn categories_from_title(title: &str) -> Vec<Category> {
    let head = title.split(" updates on").next().unwrap_or(title);
    head.split(|c: char| c == ',' || c == '+' || c.is_whitespace())
        .filter_map(|t| Category::parse_arxiv(t).ok())
        .collect()
}

fn finish_item(raw: RawItem, feed: &mut Feed) {
    let what = raw
        .guid
        .clone()
        .or_else(|| raw.link.clone())
        .or_else(|| raw.about.clone())
        .unwrap_or_else(|| raw.title.clone());
    let built = match feed.format {
        FeedFormat::Rss2 | FeedFormat::Atom => build_2024_item(raw, &feed.feed_categories),
        FeedFormat::Rss1 => build_rss1_item(raw, &feed.feed_categories),
    };
    match built {
        Ok(item) => feed.items.push(item),
        Err(reason) => feed.skipped.push(Skipped { what: what.chars().take(200).collect(), reason }),
    }
}

/// The parts of the 2024 `description`: `arXiv:<id> Announce Type: <type> \nAbstract: <text>`.
struct Description<'a> {
    id: Option<&'a str>,
    announce_type: Option<&'a str>,
    abstract_text: &'a str,
}

fn split_description(d: &str) -> Description<'_> {
    let (head, abstract_text) = match d.split_once("Abstract:") {
        Some((head, rest)) => (head, rest.trim()),
        None => ("", d.trim()),
    };
    let id = head.trim_start().strip_prefix("arXiv:").and_then(|s| s.split_whitespace().next());
    let announce_type = head.split_once("Announce Type:").and_then(|(_, t)| t.split_whitespace().next());
    Description { id, announce_type, abstract_text }
}

fn build_2024_item(raw: RawItem, feed_categories: &[Category]) -> Result<FeedItem, String> {
    let desc = split_description(&raw.description);
    // The guid is the versioned OAI identifier; the description repeats the versioned id; the link has no version.
    let id_text = raw.guid.as_deref().or(desc.id).or(raw.link.as_deref()).ok_or("item without guid, id or link")?;
    let id = ArxivId::parse(id_text).map_err(|e| e.to_string())?;
    let kind_text = raw.announce_type.as_deref().or(desc.announce_type).ok_or("item without announce type")?;
    let kind = AnnounceKind::parse(kind_text).ok_or_else(|| format!("unknown announce type {kind_text:?}"))?;
    if raw.title.trim().is_empty() {
        return Err("item without title".into());
    }
    let categories = Category::arxiv_list(raw.categories.iter().map(String::as_str));
    if categories.is_empty() {
        return Err("item without an arXiv category".into());
    }
    let listed_category = listed_in(feed_categories, &categories);
    let authors = raw.creators.iter().flat_map(|c| split_authors(c)).collect();
    let record = PaperRecord {
        journal_ref: raw.journal_ref,
        doi: raw.doi,
        license: raw.rights,
        ..PaperRecord::new(id, raw.title.trim().to_string(), desc.abstract_text.to_string(), authors, categories)
    };
    Ok(FeedItem { record, kind, listed_category, announced: raw.pub_date })
}

/// What the RSS 1.0 title suffix `(arXiv:1805.06430v2 [nucl-th] UPDATED)` says.
struct TitleSuffix<'a> {
    title: &'a str,
    id: &'a str,
    primary: Option<&'a str>,
    updated: bool,
    cross_listed: bool,
}

fn split_rss1_title(title: &str) -> Option<TitleSuffix<'_>> {
    let title = title.trim();
    let start = title.rfind("(arXiv:")?;
    let inner = title[start + "(arXiv:".len()..].strip_suffix(')')?;
    let inner = inner.trim_start();
    let (id, flags) = inner.split_at(inner.find(char::is_whitespace).unwrap_or(inner.len()));
    if id.is_empty() {
        return None;
    }
    let primary = flags.split_once('[').and_then(|(_, r)| r.split_once(']')).map(|(p, _)| p.trim());
    // arXiv appended ". (arXiv:...)" to every title; drop that one added period.
    let bare = title[..start].trim_end();
    let bare = bare.strip_suffix('.').unwrap_or(bare);
    Some(TitleSuffix {
        title: bare,
        id,
        primary: primary.filter(|p| Category::parse_arxiv(p).is_ok()),
        updated: flags.contains("UPDATED"),
        cross_listed: flags.contains("CROSS LISTED"),
    })
}

fn build_rss1_item(raw: RawItem, feed_categories: &[Category]) -> Result<FeedItem, String> {
    let suffix = split_rss1_title(&raw.title).ok_or("title without the (arXiv:id [category]) suffix")?;
    let id = ArxivId::parse(suffix.id).map_err(|e| e.to_string())?;
    if suffix.title.is_empty() {
        return Err("item without title".into());
    }
    let feed_category = feed_categories.first();
    let primary = suffix.primary.and_then(|p| Category::parse_arxiv(p).ok()).or_else(|| feed_category.cloned());
    let primary = primary.ok_or("item without a category")?;
    let cross = suffix.cross_listed || feed_category.is_some_and(|f| f != &primary);
    let kind = match (suffix.updated, cross) {
        (false, false) => AnnounceKind::New,
        (false, true) => AnnounceKind::Cross,
        (true, false) => AnnounceKind::Replace,
        (true, true) => AnnounceKind::ReplaceCross,
    };
    // The feed only names the primary category; the feed's own category is known to hold the paper too.
    let categories = Category::arxiv_list([primary.code()].into_iter().chain(feed_category.map(Category::code)));
    let authors = raw.creators.iter().flat_map(|c| split_authors(&html_to_text(c))).collect();
    let abstract_text = html_to_text(&raw.description).trim().to_string();
    let record = PaperRecord::new(id, suffix.title.to_string(), abstract_text, authors, categories);
    Ok(FeedItem { record, kind, listed_category: feed_category.cloned(), announced: raw.pub_date })
}

/// The first feed category the item belongs to, directly (`cs.CL`) or through its archive (a `cs` feed).
fn listed_in(feed_categories: &[Category], item: &[Category]) -> Option<Category> {
    feed_categories
        .iter()
        .find(|f| item.contains(f) || item.iter().any(|c| c.archive() == f.code()))
        .or(feed_categories.first())
        .cloned()
}

/// Reduces the escaped HTML of old feeds (`<p>...</p>`, `<a href=...>Name</a>`) to text: tags dropped, every
/// HTML character reference decoded (`&eacute;`, `&#233;`, `&hellip;`; the XML layer already undid one level of
/// escaping). html5ever (through scraper, already linked for the LLM context) parses it as a browser would.
fn html_to_text(html: &str) -> String {
    if !html.contains(['<', '&']) {
        return html.to_string();
    }
    // A `<` never closed (a cut description, or a stray comparison) is text, not the start of a tag to drop.
    let html = match html.rfind('<') {
        Some(lt) if !html[lt..].contains('>') => format!("{}&lt;{}", &html[..lt], &html[lt + 1..]),
        _ => html.to_string(),
    };
    scraper::Html::parse_fragment(&html).root_element().text().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_feed_html_becomes_text_with_every_entity_decoded() {
        assert_eq!(
            html_to_text("<p>Caf&eacute; &#233;t&#xE9; &hellip; &lt;b&gt; &amp; x &lt; y</p>"),
            "Café été … <b> & x < y"
        );
        assert_eq!(html_to_text("<a href=\"https://arxiv.org/a/x\">Ana P&eacute;rez</a>"), "Ana Pérez");
        assert_eq!(html_to_text("plain text"), "plain text");
        assert_eq!(html_to_text("a &nbsp;b"), "a \u{a0}b");
    }

    fn fixture(name: &str) -> Vec<u8> {
        let path = format!("{}/tests/fixtures/arxiv/rss/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn cat(c: &str) -> Category {
        Category::parse(c).unwrap()
    }

    fn kinds(feed: &Feed) -> Vec<(String, AnnounceKind)> {
        feed.items.iter().map(|i| (i.record.id.to_string(), i.kind)).collect()
    }

    // The 2024-format feeds below were written by hand to arXiv's specification (rss_specifications.md,
    // atom_specifications.md; see PROVENANCE-spec-written.md): no complete real feed of that format is available.

    #[test]
    fn rss2_spec_feed() {
        let feed = parse_feed(&fixture("spec_rss2_math.OC_2024-02-23.xml")).unwrap();
        assert_eq!(feed.format, FeedFormat::Rss2);
        assert_eq!(feed.feed_categories, [cat("math.OC")]);
        assert_eq!(feed.date.unwrap().to_string(), "2024-02-23");
        assert_eq!(
            kinds(&feed),
            [
                ("2402.14101v1".to_string(), AnnounceKind::New),
                ("2402.14230v1".to_string(), AnnounceKind::Cross),
                ("2305.01234v2".to_string(), AnnounceKind::Replace),
                ("2203.01250v3".to_string(), AnnounceKind::ReplaceCross),
            ]
        );
        let rc = &feed.items[3];
        assert_eq!(rc.record.title, "Mass concentration in rescaled first order integral functionals");
        assert_eq!(rc.record.authors, ["Antonin Monteil", "Paul Pegon"]);
        assert_eq!(rc.record.categories, [cat("math.AP"), cat("math.OC")]);
        assert_eq!(rc.record.doi.as_deref(), Some("10.5802/jep.257"));
        assert_eq!(rc.record.license.as_deref(), Some("http://creativecommons.org/licenses/by/4.0/"));
        assert!(rc.record.journal_ref.as_deref().unwrap().starts_with(r"Journal de l'\'Ecole polytechnique"));
        assert!(rc.record.abstract_text.starts_with("We consider first order local minimization problems"));
        assert_eq!(rc.listed_category, Some(cat("math.OC")));
        assert_eq!(rc.announced.unwrap().to_string(), "2024-02-23");
        // Entities and CDATA.
        assert_eq!(feed.items[0].record.title, "Escaping <script>alert(1)</script> & other titles");
        assert!(feed.items[1].record.abstract_text.contains("<b>bold</b> & CDATA"));
        assert_eq!(feed.skipped.len(), 1, "{:?}", feed.skipped);
        assert!(feed.skipped[0].reason.contains("without guid"), "{:?}", feed.skipped);
    }

    #[test]
    fn empty_feed_is_valid() {
        let feed = parse_feed(&fixture("spec_rss2_empty_2024-02-24.xml")).unwrap();
        assert!(feed.items.is_empty() && feed.skipped.is_empty());
        assert_eq!(feed.feed_categories, [cat("cs.CL")]);
        assert_eq!(feed.date.unwrap().to_string(), "2024-02-24");
    }

    #[test]
    fn atom_spec_feed() {
        let feed = parse_feed(&fixture("spec_atom_math.OC_2024-02-23.xml")).unwrap();
        assert_eq!(feed.format, FeedFormat::Atom);
        assert_eq!(feed.feed_categories, [cat("math.OC")]);
        assert_eq!(feed.date.unwrap().to_string(), "2024-02-23");
        assert_eq!(
            kinds(&feed),
            [
                ("2402.14101v1".to_string(), AnnounceKind::New),
                ("2402.14230v1".to_string(), AnnounceKind::Cross),
                ("2305.01234v2".to_string(), AnnounceKind::Replace),
                ("2203.01250v3".to_string(), AnnounceKind::ReplaceCross),
            ]
        );
        let rc = &feed.items[3];
        assert_eq!(rc.record.categories, [cat("math.AP"), cat("math.OC")]);
        assert_eq!(rc.record.authors, ["Antonin Monteil", "Paul Pegon"]);
        assert_eq!(rc.record.doi.as_deref(), Some("10.5802/jep.257"));
        assert_eq!(rc.announced.unwrap().to_string(), "2024-08-23");
        assert_eq!(feed.items[0].record.title, "Escaping <script>alert(1)</script> & other titles");
        assert_eq!(feed.skipped.len(), 1);
    }

    #[test]
    fn rss1_real_feed() {
        let feed = parse_feed(&fixture("hep-ex_rss1.0_2018-05-23_trimmed.xml")).unwrap();
        assert_eq!(feed.format, FeedFormat::Rss1);
        assert_eq!(feed.feed_categories, [cat("hep-ex")]);
        assert_eq!(feed.date.unwrap().to_string(), "2018-05-23");
        assert_eq!(
            kinds(&feed),
            [
                ("1805.08875v1".to_string(), AnnounceKind::New),
                ("1805.09166v1".to_string(), AnnounceKind::Cross),
                ("1805.06430v2".to_string(), AnnounceKind::ReplaceCross),
            ]
        );
        let first = &feed.items[0].record;
        assert_eq!(first.title, "Measurement of Transverse Single Spin Asymmetries");
        assert_eq!(first.authors, ["Christopher Dilks"]);
        assert!(first.abstract_text.starts_with("In 2015 the first collisions"));
        assert!(first.abstract_text.contains(r"$2.6<\eta<4$"), "{}", first.abstract_text);
        assert!(!first.abstract_text.contains("<p>"));
        let third = &feed.items[2].record;
        assert_eq!(third.categories, [cat("nucl-th"), cat("hep-ex")]);
        assert_eq!(third.authors.len(), 6);
        assert_eq!(third.authors[5], "Hong-Shi Zong");
        assert!(feed.items.iter().all(|i| i.listed_category == Some(cat("hep-ex"))));
    }

    #[test]
    fn truncation_and_non_feeds() {
        let bytes = fixture("spec_rss2_math.OC_2024-02-23.xml");
        let text = String::from_utf8(bytes).unwrap();
        let cut = text.find("<guid isPermaLink=\"false\">oai:arXiv.org:2305.01234v2").unwrap();
        let err = parse_feed(&text.as_bytes()[..cut]).unwrap_err();
        assert_eq!(err.partial().unwrap().items.len(), 2);
        assert!(matches!(parse_feed(b"<html><body>Service Unavailable</body></html>"), Err(RssError::NotAFeed { .. })));
        // An empty, plain-text or JSON body is not "no announcement today": only a channel with no items is.
        for body in [&b""[..], b"  \n", b"Service temporarily unavailable", b"{\"items\": []}"] {
            let err = parse_feed(body).unwrap_err();
            assert!(matches!(&err, RssError::NotAFeed { root } if root.is_empty()), "{err}");
            assert!(err.to_string().contains("empty, plain text or JSON"), "{err}");
        }
        assert!(parse_feed(&fixture("spec_rss2_empty_2024-02-24.xml")).unwrap().items.is_empty());
    }

    #[test]
    fn never_panics_on_cut_or_garbled_fixtures() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/arxiv/rss/");
        for entry in
            std::fs::read_dir(dir).unwrap().flatten().filter(|e| e.path().extension().is_some_and(|x| x == "xml"))
        {
            let bytes = std::fs::read(entry.path()).unwrap();
            for cut in (0..bytes.len()).step_by(13) {
                let _ = parse_feed(&bytes[..cut]);
                let mut garbled = bytes.clone();
                garbled[cut] = b"<>&\"'/\0]"[cut % 8];
                let _ = parse_feed(&garbled);
            }
        }
    }

    #[test]
    fn helpers() {
        assert_eq!(categories_from_title("cs.AI, cs.CL updates on arXiv.org"), [cat("cs.AI"), cat("cs.CL")]);
        assert_eq!(html_to_text("<p>a &amp;lt; b</p>"), "a &lt; b");
        assert_eq!(html_to_text("x <unclosed"), "x <unclosed");
        let d = split_description("arXiv:2203.01250v3 Announce Type: replace-cross \nAbstract: We consider.");
        assert_eq!(
            (d.id, d.announce_type, d.abstract_text),
            (Some("2203.01250v3"), Some("replace-cross"), "We consider.")
        );
    }
}

//! ACL Anthology volume XML: the metadata files `data/xml/{collection}.xml` of the Anthology's repository
//! (github.com/acl-org/acl-anthology), fetched raw from `{base}/data/xml/{collection}.xml`, e.g.
//! `https://raw.githubusercontent.com/acl-org/acl-anthology/master/data/xml/2024.acl.xml`.
//!
//! One file is one collection (`<collection id="2024.acl">`) holding volumes (`<volume id="long">`); a volume
//! holds `<meta>` (booktitle, editors, `<month>`, `<year>`), an optional `<frontmatter>` and `<paper id="12">`s.
//! The Anthology id of a paper is `{collection}-{volume}.{paper}` (`2024.acl-long.12`); before 2020 it was
//! `{letter}{yy}-{volume}{paper}` padded to four digits (`P19-1001`, `W19-3801`), read here too.
//!
//! Two schema generations are in use (both recorded in `tests/fixtures/venues/`, see PROVENANCE.md): older files
//! carry `<url hash>2024.scalellm-1.1</url>` where a PDF exists, newer ones `<pdf hash="…"/>`, `<doi>` and
//! `<revision>`s. Titles and abstracts hold inline markup: `<fixed-case>` (case protection, flattened),
//! `<tex-math>` (kept as `$…$`), `<url>`, `<b>`, `<i>` (flattened).
//!
//! Only the volume asked for is read; the rest of the file, even a cut-off rest, is never looked at. A paper that
//! cannot be used is skipped with a reason; `<removed>` and `<retracted>` papers are skipped too. A document that
//! breaks off inside the volume returns the papers completed before the break, with the break as a skipped entry.

use std::borrow::Cow;

use chrono::NaiveDate;
use quick_xml::Reader;
use quick_xml::XmlVersion;
use quick_xml::events::{BytesStart, Event};

use super::{ParseError, Parsed};
use crate::domain::tex::normalize_whitespace;
use crate::domain::{Conference, Edition, PaperKey, Skipped, VenueRecord};

const EXPECTED: &str = "an ACL Anthology collection XML";

/// Splits an Anthology volume id into its collection and volume: `2024.acl-long` → (`2024.acl`, `long`),
/// `2024.findings-emnlp` → (`2024.findings`, `emnlp`), `2024.hucllm-1` → (`2024.hucllm`, `1`), and the
/// pre-2020 `P19-1` → (`P19`, `1`).
pub fn collection_of(volume: &str) -> Option<(&str, &str)> {
    let (collection, vol) = volume.trim().split_once('-')?;
    let vol_ok = !vol.is_empty()
        && vol.len() <= 40
        && vol.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    (vol_ok && (new_collection(collection).is_some() || old_collection(collection).is_some()))
        .then_some((collection, vol))
}

/// Where the collection's XML file lives under a mirror of the Anthology repository.
pub fn xml_url(base: &str, collection: &str) -> String {
    format!("{}/data/xml/{collection}.xml", base.trim_end_matches('/'))
}

/// Reads the papers of one volume (`2024.acl-long`) from its collection's XML file.
///
/// A volume id that is not one, or a volume the file does not hold, gives no records and one skipped entry
/// saying so (the file itself is fine). `Err` only when the bytes are not an Anthology collection at all, or
/// are the collection of another volume.
pub fn parse_volume(xml: &[u8], volume: &str) -> Result<Parsed, ParseError> {
    let format = |detail: String| ParseError::Format { expected: EXPECTED, detail };
    let mut parsed = Parsed::default();
    let mut reader = Reader::from_reader(xml);
    // As in the arXiv feeds: a stray `&` stays text instead of failing the file.
    reader.config_mut().allow_dangling_amp = true;

    let collection_id = loop {
        match reader.read_event() {
            Ok(Event::Start(start)) if local(&start) == "collection" => break attr(&start, "id").unwrap_or_default(),
            Ok(Event::Start(start) | Event::Empty(start)) => {
                return Err(format(format!("root element <{}>", local(&start))));
            }
            Ok(Event::Eof) => return Err(format("no root element (empty document)".into())),
            Ok(_) => {}
            Err(e) => return Err(format(format!("unreadable before the root element: {e}"))),
        }
    };

    let Some((collection, vol)) = collection_of(volume) else {
        parsed.skipped.push(Skipped {
            what: volume.chars().take(80).collect(),
            reason: "invalid volume id: it looks like 2024.acl-long or 2024.hucllm-1".into(),
        });
        return Ok(parsed);
    };
    if !collection_id.is_empty() && collection_id != collection {
        return Err(format(format!("the file is collection {collection_id:?}, not {collection:?}")));
    }
    let context = match VolumeContext::new(collection, vol) {
        Ok(c) => c,
        Err(reason) => {
            parsed.skipped.push(Skipped { what: volume.to_string(), reason });
            return Ok(parsed);
        }
    };

    let mut others = Vec::new();
    match read_collection(&mut reader, &context, &mut parsed, &mut others) {
        Ok(true) => {}
        Ok(false) => parsed.skipped.push(Skipped {
            what: volume.to_string(),
            reason: format!("no such volume: the collection holds {}", list_or_none(&others)),
        }),
        Err(broken) => {
            parsed.partial = true;
            parsed.skipped.push(Skipped { what: volume.to_string(), reason: broken.reason() });
        }
    }
    Ok(parsed)
}

fn list_or_none(ids: &[String]) -> String {
    if ids.is_empty() { "no volumes".into() } else { ids.join(", ") }
}

/// What an Anthology volume id says about its papers.
struct VolumeContext {
    collection: String,
    volume: String,
    edition: Edition,
    track: Option<String>,
    old_style: bool,
}

impl VolumeContext {
    fn new(collection: &str, volume: &str) -> Result<Self, String> {
        let (edition, track, old_style) = if let Some((year, name)) = new_collection(collection) {
            // Findings volumes are named for the conference they accompany (`2024.findings-emnlp`).
            let (conference, track) = if name == "findings" {
                (volume.split('-').next().unwrap_or(volume), Some("Findings".to_string()))
            } else {
                (name, (!volume.bytes().all(|b| b.is_ascii_digit())).then(|| volume.to_string()))
            };
            let conference = Conference::parse(conference).map_err(|e| format!("unknown conference: {}", e.reason))?;
            (Edition::new(conference, year), track, false)
        } else if let Some((letter, year)) = old_collection(collection) {
            let conference = match letter {
                'P' => "ACL",
                'N' => "NAACL",
                'D' => "EMNLP",
                'E' => "EACL",
                'C' => "COLING",
                'Q' => "TACL",
                'J' => "CL",
                // Workshops and the rest: no one conference, so the letter series is the best name there is.
                _ => collection.get(..1).unwrap_or("W"),
            };
            let conference = Conference::parse(conference).map_err(|e| format!("unknown conference: {}", e.reason))?;
            (Edition::new(conference, year), None, true)
        } else {
            return Err("invalid volume id: unknown year".into());
        };
        Ok(VolumeContext { collection: collection.into(), volume: volume.into(), edition, track, old_style })
    }

    /// The Anthology id of paper `n` of this volume.
    fn paper_id(&self, n: &str) -> String {
        if self.old_style {
            // `P19-1001`: volume and paper number share four digits.
            let width = 4usize.saturating_sub(self.volume.len());
            format!("{}-{}{n:0>width$}", self.collection, self.volume)
        } else {
            format!("{}-{}.{n}", self.collection, self.volume)
        }
    }
}

/// `2024.acl` → (2024, `acl`).
fn new_collection(collection: &str) -> Option<(u16, &str)> {
    let (year, name) = collection.split_once('.')?;
    let ok = year.len() == 4
        && !name.is_empty()
        && name.len() <= 32
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    Some((plausible_year(year)?, name)).filter(|_| ok)
}

/// `P19` → ('P', 2019); two-digit years run from 1965 (the first Anthology papers) to 2064.
fn old_collection(collection: &str) -> Option<(char, u16)> {
    let b = collection.as_bytes();
    if b.len() != 3 || !b[0].is_ascii_uppercase() || !b[1..].iter().all(u8::is_ascii_digit) {
        return None;
    }
    let yy: u16 = collection[1..].parse().ok()?;
    Some((char::from(b[0]), if yy >= 65 { 1900 + yy } else { 2000 + yy }))
}

fn plausible_year(s: &str) -> Option<u16> {
    s.parse().ok().filter(|y| (1950..=2100).contains(y))
}

/// How reading stopped short: the XML broke off or went bad inside the volume.
enum Broken {
    Truncated,
    Malformed(String),
}

impl Broken {
    fn reason(&self) -> String {
        match self {
            Broken::Truncated => "truncated document: the papers before the cut are kept".into(),
            Broken::Malformed(e) => format!("malformed XML: {e}; the papers before it are kept"),
        }
    }
}

impl From<quick_xml::Error> for Broken {
    fn from(e: quick_xml::Error) -> Self {
        // Markup left open at the end of the input is a cut-off download, not bad XML.
        if crate::arxiv::xml::is_cut_off(&e, true) { Broken::Truncated } else { Broken::Malformed(e.to_string()) }
    }
}

/// Reads the collection's children; `Ok(true)` once the wanted volume was read to its end, `Ok(false)` when the
/// collection closed without it (`others` then lists the volumes it has).
fn read_collection(
    reader: &mut Reader<&[u8]>,
    context: &VolumeContext,
    parsed: &mut Parsed,
    others: &mut Vec<String>,
) -> Result<bool, Broken> {
    loop {
        match reader.read_event()? {
            Event::Start(start) if local(&start) == "volume" => {
                let id = attr(&start, "id").unwrap_or_default();
                if id == context.volume {
                    read_volume(reader, context, parsed)?;
                    return Ok(true);
                }
                others.push(id);
                reader.read_to_end(start.name())?;
            }
            Event::Start(start) => {
                reader.read_to_end(start.name())?;
            }
            Event::End(_) => return Ok(false),
            Event::Eof => return Err(Broken::Truncated),
            _ => {}
        }
    }
}

/// One paper as read, before validation.
#[derive(Default)]
struct RawPaper {
    id: Option<String>,
    title: String,
    abstract_text: String,
    authors: Vec<String>,
    doi: Option<String>,
    /// `<url>`'s text: the paper's own id, or, for papers hosted elsewhere, a full URL.
    url: Option<String>,
    has_pdf: bool,
    /// Why the Anthology took the paper down (`removed`, `retracted`), with its note.
    withdrawn: Option<String>,
}

fn read_volume(reader: &mut Reader<&[u8]>, context: &VolumeContext, parsed: &mut Parsed) -> Result<(), Broken> {
    let (mut month, mut year) = (None, None);
    let mut papers = Vec::new();
    // Papers completed before a break are kept, so they are finished whether or not the volume ends well.
    let read = read_volume_items(reader, &mut month, &mut year, &mut papers);
    let year = year.and_then(|y| plausible_year(y.trim())).unwrap_or(context.edition.year);
    let published = month.and_then(|m| month_number(&m)).and_then(|m| NaiveDate::from_ymd_opt(year.into(), m, 1));
    for raw in papers {
        match finish_paper(raw, context, published) {
            Ok(record) => parsed.records.push(record),
            Err(skipped) => parsed.skipped.push(skipped),
        }
    }
    read
}

fn read_volume_items(
    reader: &mut Reader<&[u8]>,
    month: &mut Option<String>,
    year: &mut Option<String>,
    papers: &mut Vec<RawPaper>,
) -> Result<(), Broken> {
    loop {
        match reader.read_event()? {
            Event::Start(start) => match local(&start).as_str() {
                "meta" => (*month, *year) = read_meta(reader)?,
                "paper" => {
                    let mut raw = RawPaper { id: attr(&start, "id"), ..RawPaper::default() };
                    read_paper(reader, &mut raw)?;
                    papers.push(raw);
                }
                // Front matter (the proceedings' preface PDF) is not a paper.
                _ => {
                    reader.read_to_end(start.name())?;
                }
            },
            Event::End(_) => return Ok(()),
            Event::Eof => return Err(Broken::Truncated),
            _ => {}
        }
    }
}

fn read_meta(reader: &mut Reader<&[u8]>) -> Result<(Option<String>, Option<String>), Broken> {
    let (mut month, mut year) = (None, None);
    loop {
        match reader.read_event()? {
            Event::Start(start) => match local(&start).as_str() {
                "month" => month = Some(read_inline(reader)?),
                "year" => year = Some(read_inline(reader)?),
                _ => {
                    reader.read_to_end(start.name())?;
                }
            },
            Event::End(_) => return Ok((month, year)),
            Event::Eof => return Err(Broken::Truncated),
            _ => {}
        }
    }
}

fn read_paper(reader: &mut Reader<&[u8]>, raw: &mut RawPaper) -> Result<(), Broken> {
    loop {
        match reader.read_event()? {
            Event::Start(start) => match local(&start).as_str() {
                "title" => raw.title = read_inline(reader)?,
                "abstract" => raw.abstract_text = read_inline(reader)?,
                "author" => {
                    if let Some(name) = read_author(reader)? {
                        raw.authors.push(name);
                    }
                }
                "doi" => raw.doi = Some(read_inline(reader)?).map(|d| d.trim().to_string()).filter(|d| !d.is_empty()),
                "url" => raw.url = Some(read_inline(reader)?.trim().to_string()),
                "pdf" => {
                    raw.has_pdf = true;
                    reader.read_to_end(start.name())?;
                }
                kind @ ("removed" | "retracted") => {
                    let note = normalize_whitespace(&read_inline(reader)?);
                    raw.withdrawn = Some(if note.is_empty() { kind.to_string() } else { format!("{kind}: {note}") });
                }
                _ => {
                    reader.read_to_end(start.name())?;
                }
            },
            Event::Empty(start) => match local(&start).as_str() {
                "pdf" => raw.has_pdf = true,
                kind @ ("removed" | "retracted") => raw.withdrawn = Some(kind.to_string()),
                _ => {}
            },
            Event::End(_) => return Ok(()),
            Event::Eof => return Err(Broken::Truncated),
            _ => {}
        }
    }
}

/// `<author><first>Ada</first><last>Lovelace</last><affiliation>…</affiliation></author>` → "Ada Lovelace";
/// `<variant>` spellings and affiliations are passed over.
fn read_author(reader: &mut Reader<&[u8]>) -> Result<Option<String>, Broken> {
    let (mut first, mut last) = (String::new(), String::new());
    loop {
        match reader.read_event()? {
            Event::Start(start) => match local(&start).as_str() {
                "first" => first = read_inline(reader)?,
                "last" => last = read_inline(reader)?,
                _ => {
                    reader.read_to_end(start.name())?;
                }
            },
            Event::End(_) => break,
            Event::Eof => return Err(Broken::Truncated),
            _ => {}
        }
    }
    let name = normalize_whitespace(&format!("{first} {last}"));
    Ok((!name.is_empty()).then_some(name))
}

/// The text of the element just opened, to its end: inline markup flattened, `<tex-math>` kept as `$…$`.
fn read_inline(reader: &mut Reader<&[u8]>) -> Result<String, Broken> {
    let mut out = String::new();
    // The open inline elements, each with whether it is `<tex-math>`.
    let mut open: Vec<bool> = Vec::new();
    loop {
        match reader.read_event()? {
            Event::Text(t) => out.push_str(&t.xml10_content()),
            Event::CData(c) => out.push_str(&c.xml10_content()),
            Event::GeneralRef(r) => crate::arxiv::xml::push_reference(&mut out, &r),
            Event::Start(start) => {
                let math = local(&start) == "tex-math";
                if math {
                    out.push('$');
                }
                open.push(math);
            }
            Event::End(_) => match open.pop() {
                Some(true) => out.push('$'),
                Some(false) => {}
                None => return Ok(out),
            },
            Event::Eof => return Err(Broken::Truncated),
            _ => {}
        }
    }
}

fn finish_paper(raw: RawPaper, context: &VolumeContext, published: Option<NaiveDate>) -> Result<VenueRecord, Skipped> {
    let number = raw.id.as_deref().map(str::trim).unwrap_or_default();
    let id = context.paper_id(number);
    let skip = |reason: String| Skipped { what: id.clone(), reason };
    if number.is_empty() {
        return Err(skip("invalid key: the paper has no id".into()));
    }
    let key = PaperKey::parse(&format!("acl:{id}")).map_err(|e| skip(format!("invalid key: {}", e.reason)))?;
    if let Some(why) = raw.withdrawn {
        return Err(skip(why));
    }
    let title = normalize_whitespace(&raw.title);
    if title.is_empty() {
        return Err(skip("no title".into()));
    }
    let pdf_url = match raw.url {
        // Papers the Anthology links to elsewhere carry the full URL.
        Some(url) if url.starts_with("http://") || url.starts_with("https://") => Some(url),
        Some(_) => Some(format!("https://aclanthology.org/{id}.pdf")),
        None => raw.has_pdf.then(|| format!("https://aclanthology.org/{id}.pdf")),
    };
    Ok(VenueRecord {
        key,
        edition: context.edition.clone(),
        track: context.track.clone(),
        title,
        abstract_text: normalize_whitespace(&raw.abstract_text),
        authors: raw.authors,
        keywords: Vec::new(),
        pdf_url,
        doi: raw.doi,
        // The Anthology's XML never names an arXiv version; links are made elsewhere.
        arxiv_id: None,
        published,
    })
}

fn local(start: &BytesStart<'_>) -> String {
    let name = start.name().into_inner();
    name.rsplit(':').next().unwrap_or(name).to_string()
}

fn attr(start: &BytesStart<'_>, name: &str) -> Option<String> {
    start.attributes().with_checks(false).flatten().find_map(|a| {
        (a.key.as_ref() == name)
            .then(|| a.normalized_value(XmlVersion::Implicit1_0).ok().map(Cow::into_owned))
            .flatten()
    })
}

/// The month a free-text month field names: `March`, `Aug.`, `7–11 November` (the first month name wins), or a
/// bare number 1–12.
pub(super) fn month_number(s: &str) -> Option<u32> {
    const MONTHS: [&str; 12] = [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ];
    let named = s.split(|c: char| !c.is_alphabetic()).find_map(|word| {
        let word = word.to_lowercase();
        (word.len() >= 3)
            .then(|| MONTHS.iter().position(|m| m.starts_with(&word)))
            .flatten()
            .and_then(|i| u32::try_from(i + 1).ok())
    });
    named.or_else(|| s.trim().parse().ok().filter(|m| (1..=12).contains(m)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCALELLM: &str = include_str!("../../tests/fixtures/venues/acl-2024.scalellm.xml");
    const HUCLLM: &str = include_str!("../../tests/fixtures/venues/acl-2024.hucllm.xml");

    fn keys(parsed: &Parsed) -> Vec<String> {
        parsed.records.iter().map(|r| r.key.to_string()).collect()
    }

    #[test]
    fn volume_ids_split_into_collection_and_volume() {
        assert_eq!(collection_of("2024.acl-long"), Some(("2024.acl", "long")));
        assert_eq!(collection_of("2024.findings-emnlp"), Some(("2024.findings", "emnlp")));
        assert_eq!(collection_of("2024.hucllm-1"), Some(("2024.hucllm", "1")));
        assert_eq!(collection_of("P19-1"), Some(("P19", "1")));
        for bad in ["2024.acl", "acl-long", "2024.acl-", "2024.ACL-long", "24.acl-long", "2024.acl-lo/ng", ""] {
            assert_eq!(collection_of(bad), None, "{bad}");
        }
        assert_eq!(
            xml_url("https://raw.githubusercontent.com/acl-org/acl-anthology/master/", "2024.acl"),
            "https://raw.githubusercontent.com/acl-org/acl-anthology/master/data/xml/2024.acl.xml"
        );
    }

    #[test]
    fn older_schema_volume_reads_every_paper() {
        let parsed = parse_volume(SCALELLM.as_bytes(), "2024.scalellm-1").unwrap();
        assert!(parsed.skipped.is_empty(), "{:?}", parsed.skipped);
        assert_eq!(parsed.total, None);
        // Front matter (`2024.scalellm-1.0`) is not a paper and is not counted as skipped either.
        assert_eq!(keys(&parsed), (1..=5).map(|n| format!("acl:2024.scalellm-1.{n}")).collect::<Vec<_>>());
        let first = &parsed.records[0];
        assert_eq!(first.title, "A Proposal for Scaling the Scaling Laws");
        assert_eq!(
            first.authors,
            ["Wout Schellaert", "Ronan Hamon", "Fernando Martínez-Plumed", "Jose Hernandez-Orallo"]
        );
        assert!(first.abstract_text.starts_with("Scaling laws are predictable relations between the performance"));
        assert!(first.abstract_text.ends_with("for which we outline an actionable proposal."));
        assert_eq!(first.edition.to_string(), "SCALELLM.2024");
        assert_eq!(first.track, None);
        assert_eq!(first.doi, None);
        assert_eq!(first.pdf_url.as_deref(), Some("https://aclanthology.org/2024.scalellm-1.1.pdf"));
        assert_eq!(first.arxiv_id, None);
        assert_eq!(first.published, NaiveDate::from_ymd_opt(2024, 3, 1));
        // `<fixed-case>` is flattened into the words it protects.
        assert_eq!(
            parsed.records[3].title,
            "InstructEval: Towards Holistic Evaluation of Instruction-Tuned Large Language Models"
        );
        assert_eq!(parsed.records[4].authors, ["Sil Hamilton"]);
        assert_eq!(parsed.records[1].authors, ["Zhifan Sun", "Antonio Valerio Miceli-Barone"]);
    }

    #[test]
    fn newer_schema_volume_has_dois_and_pdf_elements() {
        let parsed = parse_volume(HUCLLM.as_bytes(), "2024.hucllm-1").unwrap();
        assert!(parsed.skipped.is_empty(), "{:?}", parsed.skipped);
        assert_eq!(parsed.records.len(), 7);
        let second = &parsed.records[1];
        assert_eq!(second.key, PaperKey::Acl("2024.hucllm-1.2".into()));
        assert_eq!(second.title, "Human-Centered Design Recommendations for LLM-as-a-judge");
        assert_eq!(second.authors.len(), 8);
        assert_eq!(second.authors[3], "Martín Santillán Cooper");
        assert_eq!(second.doi.as_deref(), Some("10.18653/v1/2024.hucllm-1.2"));
        assert_eq!(second.pdf_url.as_deref(), Some("https://aclanthology.org/2024.hucllm-1.2.pdf"));
        assert!(second.abstract_text.starts_with("Traditional reference-based metrics, such as BLEU and ROUGE"));
        assert_eq!(second.published, NaiveDate::from_ymd_opt(2024, 8, 1));
        assert_eq!(second.edition.to_string(), "HUCLLM.2024");
        let last = &parsed.records[6];
        assert_eq!(last.authors, ["Dorothea French", "Sidney D’Mello", "Katharina von der Wense"]);
        // `<revision>`s do not disturb the paper they sit in.
        assert_eq!(parsed.records[5].doi.as_deref(), Some("10.18653/v1/2024.hucllm-1.6"));
        assert_eq!(
            parsed.records[5].title,
            "Evaluating Large Language Models on Social Signal Sensitivity: An Appraisal Theory Approach"
        );
    }

    /// A main-conference file in the shape of `data/xml/2024.acl.xml` (written by hand: the real one is several MB),
    /// with two volumes, inline math, a removed and a retracted paper, and papers without title or id.
    const MAIN: &str = r#"<?xml version='1.0' encoding='UTF-8'?>
<collection id="2024.acl">
  <volume id="long" ingest-date="2024-08-05" type="proceedings">
    <meta><booktitle>Proceedings of ACL 2024</booktitle><month>August</month><year>2024</year></meta>
    <frontmatter><pdf hash="x"/><bibkey>acl-2024-long</bibkey></frontmatter>
    <paper id="1">
      <title>Scaling <tex-math>\mathcal{O}(n^2)</tex-math> Attention for <fixed-case>LLM</fixed-case>s &amp; More</title>
      <author><first>Ada</first><last>Lovelace</last><variant script="x"><first>A.</first><last>L.</last></variant></author>
      <author><last>Plato</last></author>
      <abstract>We show   that
        <tex-math>x &lt; y</tex-math> holds.</abstract>
      <pdf hash="a"/>
    </paper>
    <paper id="2"><title>Gone</title><author><first>A</first><last>B</last></author><removed date="2024-09-01">Duplicate of 1</removed></paper>
    <paper id="3"><title>Wrong</title><retracted date="2024-09-02"/></paper>
    <paper id="4"><author><first>No</first><last>Title</last></author></paper>
    <paper id="x4"><title>Bad id</title></paper>
    <paper id="5"><title>Hosted elsewhere</title><url>https://example.org/p5.pdf</url></paper>
  </volume>
  <volume id="short"><meta><year>2024</year></meta><paper id="1"><title>Short one</title></paper></volume>
</collection>
"#;

    #[test]
    fn main_conference_volume_with_faults() {
        let parsed = parse_volume(MAIN.as_bytes(), "2024.acl-long").unwrap();
        assert_eq!(keys(&parsed), ["acl:2024.acl-long.1", "acl:2024.acl-long.5"]);
        let first = &parsed.records[0];
        assert_eq!(first.title, r"Scaling $\mathcal{O}(n^2)$ Attention for LLMs & More");
        assert_eq!(first.abstract_text, "We show that $x < y$ holds.");
        assert_eq!(first.authors, ["Ada Lovelace", "Plato"]);
        assert_eq!(first.edition.to_string(), "ACL.2024");
        assert_eq!(first.track.as_deref(), Some("long"));
        assert_eq!(parsed.records[1].pdf_url.as_deref(), Some("https://example.org/p5.pdf"));
        let skipped: Vec<(&str, &str)> = parsed.skipped.iter().map(|s| (s.what.as_str(), s.reason.as_str())).collect();
        assert_eq!(skipped.len(), 4, "{skipped:?}");
        assert_eq!(skipped[0], ("2024.acl-long.2", "removed: Duplicate of 1"));
        assert_eq!(skipped[1], ("2024.acl-long.3", "retracted"));
        assert_eq!(skipped[2], ("2024.acl-long.4", "no title"));
        assert_eq!(skipped[3].0, "2024.acl-long.x4");
        assert!(skipped[3].1.starts_with("invalid key: "), "{}", skipped[3].1);

        let short = parse_volume(MAIN.as_bytes(), "2024.acl-short").unwrap();
        assert_eq!(keys(&short), ["acl:2024.acl-short.1"]);
        assert_eq!(short.records[0].published, None);
        assert_eq!(short.records[0].track.as_deref(), Some("short"));
    }

    #[test]
    fn findings_and_old_style_volumes() {
        let xml = r#"<collection id="2024.findings"><volume id="emnlp"><meta><month>November</month><year>2024</year></meta>
            <paper id="101"><title>F</title></paper></volume></collection>"#;
        let parsed = parse_volume(xml.as_bytes(), "2024.findings-emnlp").unwrap();
        let r = &parsed.records[0];
        assert_eq!(r.key.to_string(), "acl:2024.findings-emnlp.101");
        assert_eq!(r.edition.to_string(), "EMNLP.2024");
        assert_eq!(r.track.as_deref(), Some("Findings"));
        assert_eq!(r.published, NaiveDate::from_ymd_opt(2024, 11, 1));

        let xml = r#"<collection id="P19"><volume id="1"><paper id="1"><title>Old</title><url>P19-1001</url></paper></volume></collection>"#;
        let parsed = parse_volume(xml.as_bytes(), "P19-1").unwrap();
        assert_eq!(keys(&parsed), ["acl:P19-1001"]);
        assert_eq!(parsed.records[0].edition.to_string(), "ACL.2019");
        assert_eq!(parsed.records[0].pdf_url.as_deref(), Some("https://aclanthology.org/P19-1001.pdf"));
    }

    #[test]
    fn truncated_volume_keeps_the_papers_before_the_cut() {
        let cut = SCALELLM.find("<paper id=\"3\">").unwrap() + 60;
        let parsed = parse_volume(&SCALELLM.as_bytes()[..cut], "2024.scalellm-1").unwrap();
        assert_eq!(keys(&parsed), ["acl:2024.scalellm-1.1", "acl:2024.scalellm-1.2"]);
        assert_eq!(parsed.skipped.len(), 1);
        assert!(parsed.skipped[0].reason.starts_with("truncated document"), "{:?}", parsed.skipped);
        assert!(!parsed.whole());
        // A cut right after the volume closes loses nothing.
        let end = SCALELLM.find("</volume>").unwrap() + "</volume>".len();
        let parsed = parse_volume(&SCALELLM.as_bytes()[..end], "2024.scalellm-1").unwrap();
        assert_eq!(parsed.records.len(), 5);
        assert!(parsed.skipped.is_empty());
        assert!(parsed.whole());
    }

    #[test]
    fn malformed_xml_inside_the_volume_keeps_earlier_papers() {
        let bad = HUCLLM.replacen("</title>", "</titel>", 3);
        let parsed = parse_volume(bad.as_bytes(), "2024.hucllm-1").unwrap();
        assert!(parsed.records.is_empty());
        assert!(parsed.skipped[0].reason.starts_with("malformed XML"), "{:?}", parsed.skipped);
        assert!(!parsed.whole());
    }

    #[test]
    fn wrong_volume_or_document_is_reported() {
        let parsed = parse_volume(SCALELLM.as_bytes(), "2024.scalellm-2").unwrap();
        assert!(parsed.records.is_empty());
        assert_eq!(parsed.skipped[0].reason, "no such volume: the collection holds 1");
        // Read to its end: a skip, but the file is whole (its validators are kept).
        assert!(parsed.whole());
        let parsed = parse_volume(SCALELLM.as_bytes(), "scalellm").unwrap();
        assert!(parsed.skipped[0].reason.starts_with("invalid volume id"));
        assert!(parse_volume(SCALELLM.as_bytes(), "2024.hucllm-1").is_err());
        for bad in ["", "   ", "<!DOCTYPE html><html><body>503</body></html>", "{\"error\": 1}", "Not Found"] {
            assert!(parse_volume(bad.as_bytes(), "2024.scalellm-1").is_err(), "{bad:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn never_panics_on_xml_soup(
            parts in proptest::collection::vec(
                "(<collection id=\"2024.acl\">|<volume id=\"long\">|<meta>|<month>|<year>|<paper id=\"1\">|<paper>|<title>|</title>|<abstract>|<tex-math>|</tex-math>|<author>|<first>|<last>|<removed/>|<pdf/>|<url>|</url>|</[a-z-]+>|&amp;|&#0;|&bogus;|<!--|]]>|[ a-zA-Z0-9]{0,4})",
                0..50,
            )
        ) {
            let doc = parts.concat();
            let _ = parse_volume(doc.as_bytes(), "2024.acl-long");
            let _ = month_number(&doc);
        }
    }

    #[test]
    fn month_names_and_numbers() {
        assert_eq!(month_number("March"), Some(3));
        assert_eq!(month_number("Aug."), Some(8));
        assert_eq!(month_number("7–11 November"), Some(11));
        assert_eq!(month_number("12"), Some(12));
        assert_eq!(month_number("ma"), None);
        assert_eq!(month_number("TBD"), None);
        assert_eq!(month_number(""), None);
    }
}

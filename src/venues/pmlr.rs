//! PMLR (Proceedings of Machine Learning Research) volume BibTeX, in the two forms a volume has:
//!
//! - **Rendered**: `https://proceedings.mlr.press/v{N}/assets/bib/bibliography.bib`, which the volume's Jekyll site
//!   builds (mlresearch/jekyll-theme, `assets/bib/bibliography.bib`): an `@Proceedings{ICML2024, …}` entry (its
//!   key is the conference's short name and year; no `shortname` field), then one
//!   `@InProceedings{pmlr-v235-smith24a, title = …, author = {Smith, John and Doe, Jane}, booktitle = …, pages = …,
//!   year = …, editor = …, volume = …, series = …, month = …, publisher = …, pdf = …, url = …, abstract = …}` per
//!   paper. The key carries the paper's id.
//! - **Source**: the editors' file in the volume's repository (github.com/mlresearch/v{N}, e.g. `pgm24.bib`,
//!   recorded as `tests/fixtures/venues/pmlr-v246-pgm24.bib`): a `@Proceedings` entry with `shortname`, `year`,
//!   `published`, then `@InProceedings{pena24, …}` with keys of the editors' choosing. PMLR does not use those
//!   keys: its publishing script (mlresearch/papersite, `ruby/mlresearch.rb`, `extractpapers`) names each paper
//!   after its first author's family name, the two-digit year of the volume's `published` date and a letter, `a`
//!   for the first paper of that name, `b` for the second and so on in file order, made URL-safe
//!   (`Echave-Sustaeta Rodr{\'i}guez` → `echave-sustaeta-rodriguez24a`; bib key `strieder24b` → `strieder24a`).
//!   That rule is applied here to keys without the `pmlr-v{N}-` prefix; it reproduces all 33 ids of v246.
//!
//! Text stays as the source has it (TeX accents such as `Pe\~na` are decoded by the store), except that runs of
//! white space become one space and braces that only protect case (`{AutoCD}`) are removed; math (`$…$`) and
//! macro arguments keep theirs. BibTeX is read by a small reader written here (balanced braces, quoted and bare
//! values, `#` concatenation): each entry is read on its own, so a broken one is skipped and the rest are kept.

use std::collections::HashSet;

use chrono::{Datelike, NaiveDate};

use super::{ParseError, Parsed};
use crate::domain::tex::{self, normalize_whitespace};
use crate::domain::{Conference, Edition, PaperKey, Skipped, VenueRecord};

const EXPECTED: &str = "a PMLR BibTeX file";

/// The rendered BibTeX of volume `N` under a PMLR site (`https://proceedings.mlr.press`).
pub fn bib_url(base: &str, volume: u32) -> String {
    format!("{}/v{volume}/assets/bib/bibliography.bib", base.trim_end_matches('/'))
}

/// Reads the papers of PMLR volume `volume` from its BibTeX, rendered or source.
///
/// The conference is the `@Proceedings` entry's `shortname`, else its key's name part (`ICML2024`), else a
/// well-known name in the booktitle ("Conference on Learning Theory" → COLT), else `fallback_conference`.
/// `Err` only for a document with no BibTeX entry at all (an HTML error page, an empty body).
pub fn parse_bibtex(bib: &str, volume: u32, fallback_conference: Option<&Conference>) -> Result<Parsed, ParseError> {
    let bib = bib.strip_prefix('\u{feff}').unwrap_or(bib);
    if bib.trim().is_empty() {
        return Err(ParseError::Format { expected: EXPECTED, detail: "empty document".into() });
    }
    let entries = read_entries(bib);
    if entries.is_empty() {
        let start: String = bib.trim_start().chars().take(40).collect();
        return Err(ParseError::Format { expected: EXPECTED, detail: format!("no BibTeX entry; it starts {start:?}") });
    }

    let mut parsed = Parsed::default();
    let proceedings = entries.iter().filter_map(|e| e.as_ref().ok()).find(|e| e.kind == "proceedings");
    let volume_info = VolumeInfo::new(proceedings, &entries, fallback_conference);
    let mut ids = HashSet::new();
    for entry in entries {
        let entry = match entry {
            Ok(entry) => entry,
            Err(broken) => {
                parsed.skipped.push(Skipped { what: broken.what, reason: broken.reason });
                continue;
            }
        };
        match entry.kind.as_str() {
            "inproceedings" | "conference" => match paper(&entry, volume, &volume_info, &mut ids) {
                Ok(record) => parsed.records.push(record),
                Err(reason) => parsed.skipped.push(Skipped { what: entry.what(), reason }),
            },
            "proceedings" | "comment" | "string" | "preamble" => {}
            other => parsed.skipped.push(Skipped { what: entry.what(), reason: format!("not a paper: @{other}") }),
        }
    }
    Ok(parsed)
}

/// What the `@Proceedings` entry (or, failing it, the papers' own fields) says about the whole volume.
struct VolumeInfo {
    conference: Option<Conference>,
    year: Option<u16>,
    published: Option<NaiveDate>,
    /// The two-digit year PMLR puts in the ids it derives (that of `firstpublished`, else `published`).
    id_year: Option<String>,
}

impl VolumeInfo {
    fn new(proceedings: Option<&Entry>, entries: &[Result<Entry, Broken>], fallback: Option<&Conference>) -> Self {
        let field = |name| proceedings.and_then(|p| p.field(name));
        let date = |name| field(name).and_then(|d| NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d").ok());
        let published = date("published");
        let booktitle = field("booktitle")
            .or_else(|| entries.iter().filter_map(|e| e.as_ref().ok()).find_map(|e| e.field("booktitle")));
        let conference = field("shortname")
            .and_then(|s| Conference::parse(s).ok())
            .or_else(|| proceedings.and_then(|p| conference_of_key(&p.key)))
            .or_else(|| booktitle.and_then(conference_of_booktitle))
            .or_else(|| fallback.cloned());
        let id_year = date("firstpublished").or(published).map(|d| format!("{:02}", d.year().rem_euclid(100)));
        VolumeInfo { conference, year: field("year").and_then(year_of), published, id_year }
    }
}

/// `ICML2024` (the rendered `@Proceedings` key, short name then year) → ICML.
fn conference_of_key(key: &str) -> Option<Conference> {
    let name = key.strip_suffix(|c: char| c.is_ascii_digit())?.trim_end_matches(|c: char| c.is_ascii_digit());
    (key.len() - name.len() == 4).then(|| Conference::parse(name).ok()).flatten()
}

/// The conferences PMLR publishes most, by the words of their booktitles.
fn conference_of_booktitle(booktitle: &str) -> Option<Conference> {
    const NAMES: &[(&str, &str)] = &[
        ("asian conference on machine learning", "ACML"),
        ("international conference on machine learning", "ICML"),
        ("artificial intelligence and statistics", "AISTATS"),
        ("conference on learning theory", "COLT"),
        ("algorithmic learning theory", "ALT"),
        ("conference on robot learning", "CoRL"),
        ("uncertainty in artificial intelligence", "UAI"),
        ("probabilistic graphical models", "PGM"),
        ("learning for dynamics and control", "L4DC"),
        ("causal learning and reasoning", "CLeaR"),
        ("medical imaging with deep learning", "MIDL"),
        ("lifelong learning agents", "CoLLAs"),
        ("learning on graphs", "LoG"),
    ];
    let title = normalize_whitespace(booktitle).to_lowercase();
    NAMES.iter().find(|(words, _)| title.contains(words)).and_then(|(_, name)| Conference::parse(name).ok())
}

fn year_of(s: &str) -> Option<u16> {
    s.trim().parse().ok().filter(|y| (1950..=2100).contains(y))
}

fn paper(entry: &Entry, volume: u32, info: &VolumeInfo, ids: &mut HashSet<String>) -> Result<VenueRecord, String> {
    let authors: Vec<Name> = entry.field("author").map(split_names).unwrap_or_default();
    // The id comes first: PMLR numbers every paper of the file in order, so one skipped for another reason still
    // takes its letter.
    let id = paper_id(entry, volume, info, authors.first(), ids)?;
    let key = PaperKey::parse(&format!("pmlr:v{volume}/{id}")).map_err(|e| format!("invalid key: {}", e.reason))?;
    let title = clean(entry.field("title").unwrap_or_default());
    if title.is_empty() {
        return Err("no title".into());
    }
    let year = entry
        .field("year")
        .and_then(year_of)
        .or(info.year)
        .or(info.published.and_then(|d| year_of(&d.year().to_string())));
    let year = year.ok_or("unknown year")?;
    let conference = info.conference.clone().ok_or("unknown conference: the file names none and none was given")?;
    let non_empty = |name| entry.field(name).map(normalize_whitespace).filter(|v| !v.is_empty());
    Ok(VenueRecord {
        edition: Edition::new(conference, year),
        track: None,
        title,
        // A preface has no abstract and is still a record.
        abstract_text: clean(entry.field("abstract").unwrap_or_default()),
        authors: authors.iter().map(Name::display).filter(|a| !a.is_empty()).collect(),
        keywords: Vec::new(),
        pdf_url: non_empty("pdf").or_else(|| Some(format!("https://proceedings.mlr.press/v{volume}/{id}/{id}.pdf"))),
        doi: non_empty("doi"),
        arxiv_id: None,
        published: info.published,
        key,
    })
}

/// The paper's id within its volume: from a rendered key (`pmlr-v235-smith24a` → `smith24a`), else derived the
/// way PMLR derives it (see the module documentation).
fn paper_id(
    entry: &Entry,
    volume: u32,
    info: &VolumeInfo,
    first_author: Option<&Name>,
    ids: &mut HashSet<String>,
) -> Result<String, String> {
    if let Some(rest) = entry.key.strip_prefix("pmlr-v") {
        let (v, id) = rest.split_once('-').ok_or("invalid key: no id after the volume")?;
        if v != volume.to_string() {
            return Err(format!("invalid key: the entry is of volume v{v}, not v{volume}"));
        }
        if !ids.insert(id.to_string()) {
            return Err(format!("duplicate key: {id}"));
        }
        return Ok(id.to_string());
    }
    let family = first_author.map(|a| a.last.as_str()).filter(|f| !f.is_empty());
    let family = family.ok_or("invalid key: no author to name the paper after")?;
    let year = info
        .id_year
        .clone()
        .or_else(|| entry.field("year").and_then(year_of).or(info.year).map(|y| format!("{:02}", y % 100)))
        .ok_or("invalid key: no year to name the paper after")?;
    let stem = format!("{}{year}", plain_lowercase(family));
    let id = (0..).map(|n| parameterize(&format!("{stem}{}", letters(n)))).find(|id| !ids.contains(id));
    let id = id.unwrap_or_default();
    ids.insert(id.clone());
    Ok(id)
}

/// `a`, `b`, …, `z`, `aa`, `ab`, …: the suffixes PMLR gives the papers sharing a name, in order.
fn letters(n: usize) -> String {
    let c = char::from(b'a' + u8::try_from(n % 26).unwrap_or(0));
    if n < 26 { c.to_string() } else { format!("{}{c}", letters(n / 26 - 1)) }
}

/// A family name as PMLR's script sees it: TeX decoded, braces gone, lowercase, Latin letters without their
/// accents (`Pe\~na` → `pena`, `Ro{\"o}ttger` → `rottger`). Other scripts fall to separators, as in Rails'
/// `parameterize`, which the script uses.
fn plain_lowercase(family: &str) -> String {
    let decoded = tex::decode(family).replace(['{', '}'], "");
    let mut out = String::with_capacity(decoded.len());
    for c in decoded.chars() {
        fold_to_ascii(c, &mut out);
    }
    out
}

fn fold_to_ascii(c: char, out: &mut String) {
    match c {
        'a'..='z' | '0'..='9' | '-' | '_' => out.push(c),
        'A'..='Z' => out.push(c.to_ascii_lowercase()),
        _ => match tex::latin_ascii(c) {
            Some(s) => out.push_str(s),
            None if c.is_whitespace() => out.push(' '),
            // The two signs among the Latin-1 letters (×, ÷).
            None if ('\u{c0}'..='\u{17f}').contains(&c) => out.push('-'),
            None => out.push('?'),
        },
    }
}

/// Rails' `parameterize` on ASCII: runs of anything but letters, digits, `-` and `_` become one `-`, as do runs of
/// `-`; none at either end.
fn parameterize(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}

/// White space folded and case-protecting braces removed.
fn clean(value: &str) -> String {
    normalize_whitespace(&strip_case_braces(value))
}

/// Why a brace group's braces are kept.
#[derive(Clone, Copy, PartialEq)]
enum Group {
    /// A group that only protects case (`{AutoCD}`): its braces go.
    Protect,
    /// A macro's argument (`\emph{x}`, `\~{n}`): another argument may follow it.
    Argument,
    /// Math, or a group ending in a control word (`{\ss}`), whose braces keep the word apart from what follows.
    Verbatim,
}

/// Removes the braces BibTeX uses to protect case (`{AutoCD}`, `{de Vries}`, `{\c{S}en\"{o}z}`), keeping those of
/// macro arguments and everything inside math, so the store's TeX decoding sees what it expects.
fn strip_case_braces(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut groups: Vec<Group> = Vec::new();
    let mut math = false;
    // The last token was a control word (`\emph`, which may be followed by spaces) or a control symbol (`\'`).
    let (mut after_word, mut after_symbol, mut after_argument) = (false, false, false);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        match c {
            '\\' => {
                out.push(c);
                let (mut word, mut symbol) = (false, false);
                if let Some(&n) = chars.get(i) {
                    out.push(n);
                    i += 1;
                    if n.is_ascii_alphabetic() {
                        word = true;
                        while let Some(&n) = chars.get(i).filter(|n| n.is_ascii_alphabetic()) {
                            out.push(n);
                            i += 1;
                        }
                    } else {
                        // Accents take an argument; escaped specials (`\{`, `\$`, `\%`) are plain text.
                        symbol = "'\"`^~=.".contains(n);
                    }
                }
                (after_word, after_symbol, after_argument) = (word, symbol, false);
            }
            '{' => {
                let group = if math || ends_in_control_word(&chars, i - 1) {
                    Group::Verbatim
                } else if after_word || after_symbol || after_argument {
                    Group::Argument
                } else {
                    Group::Protect
                };
                if group != Group::Protect {
                    out.push(c);
                }
                groups.push(group);
                (after_word, after_symbol, after_argument) = (false, false, false);
            }
            '}' => {
                let group = groups.pop();
                if group != Some(Group::Protect) {
                    out.push(c);
                }
                (after_word, after_symbol, after_argument) = (false, false, group == Some(Group::Argument));
            }
            _ => {
                if c == '$' {
                    math = !math;
                }
                out.push(c);
                // TeX skips the spaces between a control word and its argument (`\c {S}`).
                after_word &= c.is_whitespace();
                (after_symbol, after_argument) = (false, false);
            }
        }
    }
    out
}

/// Whether the brace group opened at `open` ends in a control word (`{\ss}`, `{\i}`), which would run into the
/// following letters without its braces.
fn ends_in_control_word(chars: &[char], open: usize) -> bool {
    let mut depth = 0usize;
    let mut i = open;
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 1,
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    let inner = &chars[open + 1..i];
                    let letters = inner.iter().rev().take_while(|c| c.is_ascii_alphabetic()).count();
                    return letters > 0 && inner.len() > letters && inner[inner.len() - letters - 1] == '\\';
                }
            }
            _ => {}
        }
        i += 1;
    }
    false
}

/// One BibTeX name in its four parts (`von Last, Jr, First`), raw TeX.
#[derive(Debug, Default, PartialEq)]
struct Name {
    first: String,
    von: String,
    last: String,
    jr: String,
}

impl Name {
    /// "First von Last" (", Jr" after it), case braces removed, accents left to the store.
    fn display(&self) -> String {
        let mut name = [&self.first, &self.von, &self.last]
            .into_iter()
            .filter(|p| !p.is_empty())
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(" ");
        if !self.jr.is_empty() {
            name = format!("{name}, {}", self.jr);
        }
        clean(&name)
    }
}

/// Splits an `author` or `editor` field at ` and ` (any case, outside braces) and reads each name; `others`
/// (BibTeX's "et al.") is dropped.
fn split_names(field: &str) -> Vec<Name> {
    let mut names = Vec::new();
    let mut current: Vec<&str> = Vec::new();
    for word in words(field, false) {
        if word.eq_ignore_ascii_case("and") {
            names.push(std::mem::take(&mut current));
        } else {
            current.push(word);
        }
    }
    names.push(current);
    names
        .into_iter()
        .filter(|n| match n.as_slice() {
            [] => false,
            [only] => !only.eq_ignore_ascii_case("others"),
            _ => true,
        })
        .map(|n| parse_name(&n.join(" ")))
        .collect()
}

/// Splits at white space (and, with `commas`, at commas, which become their own words) outside braces.
fn words(s: &str, commas: bool) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut start) = (0usize, None);
    for (i, c) in s.char_indices() {
        let split = depth == 0 && (c.is_whitespace() || (commas && c == ','));
        match c {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        if split {
            if let Some(st) = start.take() {
                out.push(&s[st..i]);
            }
            if c == ',' {
                out.push(",");
            }
        } else if start.is_none() {
            start = Some(i);
        }
    }
    if let Some(st) = start {
        out.push(&s[st..]);
    }
    out
}

/// BibTeX's three name forms: `First von Last`, `von Last, First`, `von Last, Jr, First`.
fn parse_name(name: &str) -> Name {
    let mut parts: Vec<Vec<&str>> = vec![Vec::new()];
    for word in words(name, true) {
        if word == "," {
            parts.push(Vec::new());
        } else if let Some(last) = parts.last_mut() {
            last.push(word);
        }
    }
    let join = |w: &[&str]| w.join(" ");
    match parts.as_slice() {
        [only] => {
            let Some((last, rest)) = only.split_last() else { return Name::default() };
            match rest.iter().position(|w| lowercase_word(w)) {
                Some(from) => {
                    let to = rest.iter().rposition(|w| lowercase_word(w)).unwrap_or(from);
                    let mut last_part = rest[to + 1..].to_vec();
                    last_part.push(last);
                    Name {
                        first: join(&rest[..from]),
                        von: join(&rest[from..=to]),
                        last: join(&last_part),
                        jr: String::new(),
                    }
                }
                None => Name { first: join(rest), von: String::new(), last: (*last).to_string(), jr: String::new() },
            }
        }
        [von_last, rest @ ..] => {
            // The von part is the leading lowercase words, never the last word.
            let von = von_last.iter().take(von_last.len().saturating_sub(1)).take_while(|w| lowercase_word(w)).count();
            let (jr, first) = match rest {
                [first] => (String::new(), join(first)),
                [jr, first @ ..] => (join(jr), first.iter().map(|p| join(p)).collect::<Vec<_>>().join(", ")),
                [] => (String::new(), String::new()),
            };
            Name { first, von: join(&von_last[..von]), last: join(&von_last[von..]), jr }
        }
        [] => Name::default(),
    }
}

/// Whether a name word starts lowercase, as BibTeX decides "von" words: by its first letter outside braces. A
/// special character (`{\'e}`, `{\.{I}}`) or a leading accent (`\v{S}`) counts as the letter it carries, a foreign
/// letter (`{\o}`, `\ss`) as its own case; any other braced text is not lowercase.
fn lowercase_word(word: &str) -> bool {
    const FOREIGN: [&str; 13] = ["i", "j", "oe", "OE", "ae", "AE", "aa", "AA", "o", "O", "l", "L", "ss"];
    let chars: Vec<char> = word.chars().collect();
    // Inside a special character or after an accent, braces are the accent's and the letters decide.
    let mut special = false;
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '{' if chars.get(i + 1) == Some(&'\\') => {
                special = true;
                i += 1;
            }
            '{' if !special => return false,
            '\\' => {
                i += 1;
                let name: String = chars[i..].iter().take_while(|c| c.is_ascii_alphabetic()).collect();
                if name.is_empty() {
                    i += 1;
                } else if FOREIGN.contains(&name.as_str()) {
                    return name.starts_with(|c: char| c.is_ascii_lowercase());
                } else {
                    i += name.len();
                }
                special = true;
            }
            c if c.is_alphabetic() => return c.is_lowercase(),
            _ => i += 1,
        }
    }
    false
}

/// One entry as read: its type (lowercase), key and fields (names lowercase, values without their delimiters).
#[derive(Debug)]
struct Entry {
    kind: String,
    key: String,
    fields: Vec<(String, String)>,
    line: usize,
}

impl Entry {
    /// The first value of a field (BibTeX itself keeps the first of duplicates).
    fn field(&self, name: &str) -> Option<&str> {
        self.fields.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    fn what(&self) -> String {
        if self.key.is_empty() { format!("entry at line {}", self.line) } else { self.key.clone() }
    }
}

/// An entry that could not be read, with what identifies it and why.
#[derive(Debug)]
struct Broken {
    what: String,
    reason: String,
}

/// Reads every entry. An entry may not run past the next line that starts a new entry (`@Type{`): a brace left
/// open in one abstract then costs that entry alone, and a cut-off file the entry it cuts.
fn read_entries(bib: &str) -> Vec<Result<Entry, Broken>> {
    let bounds = entry_lines(bib);
    // Entries come in order, so line numbers are counted on from the last one.
    let (mut counted_to, mut line) = (0, 1);
    let mut line_of = |pos: usize| {
        line += bib[counted_to..pos].bytes().filter(|&b| b == b'\n').count();
        counted_to = pos;
        line
    };
    let mut out = Vec::new();
    let mut pos = 0;
    while let Some(at) = bib[pos..].find('@').map(|i| pos + i) {
        let limit = bounds.get(bounds.partition_point(|&b| b <= at)).copied().unwrap_or(bib.len());
        let mut reader = EntryReader { s: &bib[..limit], pos: at + 1 };
        match reader.entry() {
            Ok(Some(entry)) => {
                out.push(Ok(Entry { line: line_of(at), ..entry }));
                pos = reader.pos;
            }
            // Not an entry (an `@` in a comment, an e-mail address): BibTeX passes over it too.
            Ok(None) => pos = at + 1,
            Err((key, reason)) => {
                let what = if key.is_empty() { format!("entry at line {}", line_of(at)) } else { key };
                let reason = match reason {
                    Stop::End if limit == bib.len() => "truncated entry: the document ends inside it".into(),
                    Stop::End => "unbalanced braces: the entry runs into the next one".into(),
                    Stop::Syntax(detail) => format!("unreadable entry: {detail}"),
                };
                out.push(Err(Broken { what, reason }));
                pos = limit;
            }
        }
    }
    out
}

/// The fields of the first readable entry in `bib` (names lowercase, values raw), for other sources that embed
/// BibTeX (CVF's listing).
pub(super) fn first_entry_fields(bib: &str) -> Option<Vec<(String, String)>> {
    read_entries(bib).into_iter().find_map(Result::ok).map(|entry| entry.fields)
}

/// Byte offsets of the lines that start an entry (`@InProceedings{`, after optional indentation).
fn entry_lines(bib: &str) -> Vec<usize> {
    let mut out = Vec::new();
    let mut offset = 0;
    for line in bib.split_inclusive('\n') {
        let trimmed = line.trim_start();
        if let Some(rest) = trimmed.strip_prefix('@') {
            let name_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
            if name_len > 0 && rest[name_len..].trim_start().starts_with(['{', '(']) {
                out.push(offset + line.len() - trimmed.len());
            }
        }
        offset += line.len();
    }
    out
}

enum Stop {
    /// The text ended (at the document's end or the next entry's start) inside the entry.
    End,
    Syntax(String),
}

struct EntryReader<'a> {
    s: &'a str,
    pos: usize,
}

type Fields = Vec<(String, String)>;

impl EntryReader<'_> {
    fn peek(&self) -> Option<char> {
        self.s[self.pos..].chars().next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn skip_space(&mut self) {
        while let Some(c) = self.peek().filter(|c| c.is_whitespace()) {
            self.pos += c.len_utf8();
        }
    }

    fn take_while(&mut self, f: impl Fn(char) -> bool) -> &str {
        let start = self.pos;
        while let Some(c) = self.peek().filter(|&c| f(c)) {
            self.pos += c.len_utf8();
        }
        &self.s[start..self.pos]
    }

    /// After the `@`: `Ok(None)` when what follows is not an entry at all.
    fn entry(&mut self) -> Result<Option<Entry>, (String, Stop)> {
        let kind = self.take_while(|c| c.is_ascii_alphabetic()).to_ascii_lowercase();
        self.skip_space();
        let close = match self.peek() {
            Some('{') if !kind.is_empty() => '}',
            Some('(') if !kind.is_empty() => ')',
            _ => return Ok(None),
        };
        if kind == "comment" || kind == "preamble" {
            self.balanced(close).map_err(|stop| (String::new(), stop))?;
            return Ok(Some(Entry { kind, key: String::new(), fields: Vec::new(), line: 0 }));
        }
        self.pos += 1;
        self.skip_space();
        // `@String{name = value}` has no key.
        let key = if kind == "string" {
            String::new()
        } else {
            self.take_while(|c| c != ',' && c != close && !c.is_whitespace()).to_string()
        };
        let fields = self.fields(close, !key.is_empty()).map_err(|stop| (key.clone(), stop))?;
        Ok(Some(Entry { kind, key, fields, line: 0 }))
    }

    /// The fields up to the entry's close; `after_key`: a key was read, which a `,` or the close must follow.
    fn fields(&mut self, close: char, after_key: bool) -> Result<Fields, Stop> {
        let mut fields = Vec::new();
        let mut need_separator = after_key;
        loop {
            self.skip_space();
            match self.peek() {
                None => return Err(Stop::End),
                Some(c) if c == close => {
                    self.pos += 1;
                    return Ok(fields);
                }
                // Empty fields (`,,`, a trailing comma) are harmless.
                Some(',') => {
                    self.pos += 1;
                    need_separator = false;
                }
                Some(c) if need_separator => {
                    return Err(Stop::Syntax(format!("expected ',' or {close:?}, found {c:?}")));
                }
                Some(_) => {
                    let name = self.take_while(|c| !c.is_whitespace() && !"=,{}()\"#".contains(c)).to_ascii_lowercase();
                    self.skip_space();
                    match self.bump() {
                        Some('=') if !name.is_empty() => {}
                        None => return Err(Stop::End),
                        Some(c) => return Err(Stop::Syntax(format!("expected a field name and '=', found {c:?}"))),
                    }
                    let value = self.value(close)?;
                    fields.push((name, value));
                    need_separator = true;
                }
            }
        }
    }

    /// A value: `{…}`, `"…"` or a bare number or macro name, joined with `#`.
    fn value(&mut self, close: char) -> Result<String, Stop> {
        let mut value = String::new();
        loop {
            self.skip_space();
            match self.peek() {
                None => return Err(Stop::End),
                Some('{') => value.push_str(self.balanced('}')?),
                Some('"') => value.push_str(self.quoted()?),
                Some(_) => {
                    let bare = self.take_while(|c| !c.is_whitespace() && c != ',' && c != close && c != '#');
                    if bare.is_empty() {
                        return Err(Stop::Syntax("a field without a value".into()));
                    }
                    value.push_str(bare);
                }
            }
            self.skip_space();
            if self.peek() == Some('#') {
                self.pos += 1;
            } else {
                return Ok(value);
            }
        }
    }

    /// The inside of the group opened at the current position, to its matching close. Every brace counts, escaped
    /// or not, as in BibTeX.
    fn balanced(&mut self, close: char) -> Result<&str, Stop> {
        let open = self.bump();
        let start = self.pos;
        let mut depth = 0usize;
        while let Some(c) = self.bump() {
            match c {
                '{' => depth += 1,
                '}' if depth > 0 => depth -= 1,
                c if c == close && depth == 0 => return Ok(&self.s[start..self.pos - 1]),
                '}' => return Err(Stop::Syntax(format!("unbalanced '}}' after {open:?}"))),
                _ => {}
            }
        }
        Err(Stop::End)
    }

    /// The inside of `"…"`; a `"` inside braces is text.
    fn quoted(&mut self) -> Result<&str, Stop> {
        self.pos += 1;
        let start = self.pos;
        let mut depth = 0usize;
        while let Some(c) = self.bump() {
            match c {
                '{' => depth += 1,
                '}' => depth = depth.saturating_sub(1),
                '"' if depth == 0 => return Ok(&self.s[start..self.pos - 1]),
                _ => {}
            }
        }
        Err(Stop::End)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PGM24: &str = include_str!("../../tests/fixtures/venues/pmlr-v246-pgm24.bib");

    /// The ids of the 33 papers of PMLR v246 as published: the `_posts/2024-09-05-{id}.md` file names of
    /// github.com/mlresearch/v246 at commit 665e6f53c1019a000010ceb175f77f654794c7c9 (the 6 posts recorded beside
    /// the fixture are among them), in the order of the source BibTeX.
    const V246_IDS: [&str; 33] = [
        "kwisthout24a",
        "pena24a",
        "balgi24a",
        "luttermann24a",
        "cobb24a",
        "feigenbaum24a",
        "butz24a",
        "chan24a",
        "yildirim24a",
        "kitson24a",
        "balgi24b",
        "leonelli24a",
        "echave-sustaeta-rodriguez24a",
        "strieder24a",
        "carter24a",
        "liang24a",
        "ghandi24a",
        "lukashchuk24a",
        "lelova24a",
        "williams24a",
        "bjoru24a",
        "vonk24a",
        "schauer24a",
        "perez24a",
        "zaragoza-pellicer24a",
        "petrova24a",
        "weidl24a",
        "busch24a",
        "vomlel24a",
        "kundu24a",
        "bejos24a",
        "wenig24a",
        "muvunza24a",
    ];

    fn pgm() -> Parsed {
        parse_bibtex(PGM24, 246, None).unwrap()
    }

    fn ids(parsed: &Parsed) -> Vec<String> {
        parsed
            .records
            .iter()
            .map(|r| match &r.key {
                PaperKey::Pmlr { id, .. } => id.clone(),
                other => panic!("not a PMLR key: {other}"),
            })
            .collect()
    }

    #[test]
    fn source_bibtex_gives_every_paper_its_published_id() {
        let parsed = pgm();
        assert!(parsed.skipped.is_empty(), "{:?}", parsed.skipped);
        assert_eq!(parsed.total, None);
        assert_eq!(ids(&parsed), V246_IDS);
        assert!(parsed.records.iter().all(|r| r.edition.to_string() == "PGM.2024"));
        assert!(parsed.records.iter().all(|r| r.published == NaiveDate::from_ymd_opt(2024, 9, 5)));
    }

    #[test]
    fn source_bibtex_fields() {
        let parsed = pgm();
        let preface = &parsed.records[0];
        assert_eq!(preface.key.to_string(), "pmlr:v246/kwisthout24a");
        assert_eq!(preface.title, "Preface");
        assert_eq!(preface.authors, ["Johan Kwisthout", "Silja Renooij"]);
        assert_eq!(preface.abstract_text, "");
        assert_eq!(
            preface.pdf_url.as_deref(),
            Some("https://proceedings.mlr.press/v246/kwisthout24a/kwisthout24a.pdf")
        );
        assert_eq!(preface.track, None);
        assert_eq!(preface.doi, None);

        let pena = &parsed.records[1];
        assert_eq!(pena.title, "Alternative Measures of Direct and Indirect Effects");
        assert_eq!(pena.authors, [r"Jose M. Pe\~na"]);
        assert!(pena.abstract_text.starts_with("There are a number of measures of direct and indirect effects"));

        let balgi = &parsed.records[2];
        assert_eq!(
            balgi.title,
            r"$\rho$-GNF: A Copula-based Sensitivity Analysis to Unobserved Confounding Using Normalizing Flows"
        );
        assert_eq!(balgi.authors, ["Sourabh Balgi", r"Jose M. Pe\~na", "Adel Daoud"]);
        // Braces inside math stay.
        assert!(balgi.abstract_text.contains(r"where $\rho{\in}[-1,+1]$ is a bounded"), "{}", balgi.abstract_text);

        let by_id = |id: &str| &parsed.records[V246_IDS.iter().position(|i| *i == id).unwrap()];
        assert_eq!(by_id("chan24a").title, "AutoCD: Automated Machine Learning for Causal Discovery Algorithms");
        assert_eq!(
            by_id("echave-sustaeta-rodriguez24a").authors,
            [r"Ignacio Echave-Sustaeta Rodr\'iguez", r#"Frank R\"ottger"#]
        );
        assert_eq!(
            by_id("lukashchuk24a").authors,
            ["Mykola Lukashchuk", r#"\.{I}smail \c{S}en\"{o}z"#, "Bert de Vries"]
        );
        assert_eq!(by_id("lukashchuk24a").title, "Q-conjugate Message Passing for Efficient Bayesian Inference");
        assert_eq!(by_id("ghandi24a").authors, ["Soroush Ghandi", "Benjamin Quost", "Cassio de Campos"]);
        assert_eq!(by_id("perez24a").authors, [r"I. P\'erez", "J. Vomlel"]);
        assert_eq!(
            by_id("weidl24a").title,
            "Exploring Argument Mining and Bayesian Networks for Assessing Topics for City Project Proposals"
        );
        assert_eq!(by_id("weidl24a").authors.len(), 5);
        assert_eq!(by_id("feigenbaum24a").authors.len(), 8);
        assert_eq!(by_id("feigenbaum24a").authors[7], "Silvio Savarese");
        // A malformed name (three commas) is read as BibTeX reads it: von Last, Jr, First.
        assert_eq!(by_id("muvunza24a").authors, ["Taurai Muvunza", "Yang Li", "Kuruoglu Ercan, Engin"]);
        assert_eq!(by_id("busch24a").title, r"$\Psi$net: Efficient Causal Modeling at Scale");
    }

    /// A rendered `bibliography.bib` in the shape the theme's template writes (written by hand from
    /// mlresearch/jekyll-theme `assets/bib/bibliography.bib` and `_includes/bibtex_entry`: no rendered copy is
    /// recorded), with a duplicate, a missing title, a foreign volume and a malformed key among the papers.
    const RENDERED: &str = "
@Proceedings{ICML2024,
  title =     {Proceedings of the 41st International Conference on Machine Learning},
  booktitle = {Proceedings of the 41st International Conference on Machine Learning},
  editor =    {Ruslan Salakhutdinov and Zico Kolter},
  publisher = {PMLR},
  series =    {Proceedings of Machine Learning Research},
  volume =    235
}

@InProceedings{pmlr-v235-smith24a,
  title = \t {Learning {Transformers} Fast},
  author =       {Smith, John and Doe, Jane and van der Berg, Jr, Piet},
  booktitle = \t {Proceedings of the 41st International Conference on Machine Learning},
  pages = \t {1--10},
  year =         {2024},
  editor = \t {Salakhutdinov, Ruslan and Kolter, Zico},
  volume = \t {235},
  series = \t {Proceedings of Machine Learning Research},
  month = \t {21--27 Jul},
  publisher =    {PMLR},
  pdf = \t {https://raw.githubusercontent.com/mlresearch/v235/main/assets/smith24a/smith24a.pdf},
  url = \t {https://proceedings.mlr.press/v235/smith24a.html},
  abstract = \t {We learn   fast. \\textbf{Really}.}
}

@InProceedings{pmlr-v235-smith24a,
  title = {Duplicate}, author = {Smith, John}, year = {2024}
}

@InProceedings{pmlr-v235-doe24b,
  author = {Doe, Jane}, year = {2024}
}

@InProceedings{pmlr-v236-other24a,
  title = {Other volume}, author = {Other, A}, year = {2024}
}

@InProceedings{pmlr-v235-bad..id,
  title = {Bad id}, author = {Bad, A}, year = {2024}
}

@InProceedings{pmlr-v235-lee24c,
  title = \"Quoted {T}itle\", author = \"Lee, Kim\", year = 2024, doi = {10.5555/1}
}
";

    #[test]
    fn rendered_bibtex_with_faults() {
        let parsed = parse_bibtex(RENDERED, 235, None).unwrap();
        assert_eq!(ids(&parsed), ["smith24a", "lee24c"]);
        let smith = &parsed.records[0];
        assert_eq!(smith.key.to_string(), "pmlr:v235/smith24a");
        assert_eq!(smith.edition.to_string(), "ICML.2024");
        assert_eq!(smith.title, "Learning Transformers Fast");
        assert_eq!(smith.authors, ["John Smith", "Jane Doe", "Piet van der Berg, Jr"]);
        assert_eq!(smith.abstract_text, r"We learn fast. \textbf{Really}.");
        assert_eq!(
            smith.pdf_url.as_deref(),
            Some("https://raw.githubusercontent.com/mlresearch/v235/main/assets/smith24a/smith24a.pdf")
        );
        assert_eq!(smith.published, None);
        let lee = &parsed.records[1];
        assert_eq!(lee.title, "Quoted Title");
        assert_eq!(lee.doi.as_deref(), Some("10.5555/1"));
        assert_eq!(lee.pdf_url.as_deref(), Some("https://proceedings.mlr.press/v235/lee24c/lee24c.pdf"));

        let skipped: Vec<(&str, &str)> = parsed.skipped.iter().map(|s| (s.what.as_str(), s.reason.as_str())).collect();
        assert_eq!(skipped.len(), 4, "{skipped:?}");
        assert_eq!(skipped[0], ("pmlr-v235-smith24a", "duplicate key: smith24a"));
        assert_eq!(skipped[1], ("pmlr-v235-doe24b", "no title"));
        assert_eq!(skipped[2], ("pmlr-v236-other24a", "invalid key: the entry is of volume v236, not v235"));
        assert_eq!(skipped[3].0, "pmlr-v235-bad..id");
        assert!(skipped[3].1.starts_with("invalid key: "), "{}", skipped[3].1);
    }

    #[test]
    fn conference_comes_from_the_file_or_the_caller() {
        let entry = "@InProceedings{pmlr-v99-a19a, title = {T}, author = {A, B}, year = {2019},
            booktitle = {Proceedings of the Thirty-Second Conference on Learning Theory}}";
        let parsed = parse_bibtex(entry, 99, None).unwrap();
        assert_eq!(parsed.records[0].edition.to_string(), "COLT.2019");

        let bare = "@InProceedings{pmlr-v1-a19a, title = {T}, author = {A, B}, year = {2019}}";
        let parsed = parse_bibtex(bare, 1, None).unwrap();
        assert!(parsed.records.is_empty());
        assert!(parsed.skipped[0].reason.starts_with("unknown conference"), "{:?}", parsed.skipped);
        let uai = Conference::parse("uai").unwrap();
        let parsed = parse_bibtex(bare, 1, Some(&uai)).unwrap();
        assert_eq!(parsed.records[0].edition.to_string(), "UAI.2019");

        let no_year = "@Proceedings{X, shortname = {ACML}}\n@InProceedings{pmlr-v1-a19a, title = {T}, author = {A, B}}";
        let parsed = parse_bibtex(no_year, 1, None).unwrap();
        assert_eq!(parsed.skipped[0].reason, "unknown year");
    }

    #[test]
    fn repeated_names_take_the_next_letter() {
        let bib = "@Proceedings{P, shortname = {UAI}, year = {2023}, published = {2023-07-31}}
            @InProceedings{x1, title = {One}, author = {Smith, A}}
            @InProceedings{x2, title = {Two}, author = {B. Smith and C. Jones}}
            @InProceedings{x3, title = {Three}, author = {{\\O}stergaard, D.}}
            @InProceedings{x4, title = {Four}, author = {Smith, E}}";
        let parsed = parse_bibtex(bib, 216, None).unwrap();
        assert_eq!(ids(&parsed), ["smith23a", "smith23b", "ostergaard23a", "smith23c"]);
        assert_eq!(parsed.records[0].published, NaiveDate::from_ymd_opt(2023, 7, 31));
        assert_eq!(letters(0), "a");
        assert_eq!(letters(25), "z");
        assert_eq!(letters(26), "aa");
        assert_eq!(letters(27), "ab");
    }

    #[test]
    fn truncated_document_keeps_the_entries_before_the_cut() {
        let cut = PGM24.find("@InProceedings{luttermann24a").unwrap() + 200;
        let parsed = parse_bibtex(&PGM24[..cut], 246, None).unwrap();
        assert_eq!(ids(&parsed), ["kwisthout24a", "pena24a", "balgi24a"]);
        assert_eq!(parsed.skipped.len(), 1);
        assert_eq!(parsed.skipped[0].what, "luttermann24a");
        assert!(parsed.skipped[0].reason.starts_with("truncated entry"), "{:?}", parsed.skipped);
    }

    #[test]
    fn an_unclosed_brace_costs_only_its_entry() {
        let broken = PGM24.replacen("title = {Alternative Measures", "title = {{Alternative Measures", 1);
        let parsed = parse_bibtex(&broken, 246, None).unwrap();
        assert_eq!(parsed.records.len(), 32);
        assert_eq!(parsed.skipped.len(), 1);
        assert_eq!(parsed.skipped[0].what, "pena24");
        assert!(parsed.skipped[0].reason.starts_with("unbalanced braces"), "{:?}", parsed.skipped);
    }

    #[test]
    fn missing_title_is_skipped_and_the_rest_kept() {
        let broken = PGM24.replacen("title = {Alternative Measures of Direct and Indirect Effects},", "", 1);
        let parsed = parse_bibtex(&broken, 246, None).unwrap();
        assert_eq!(parsed.records.len(), 32);
        assert_eq!(parsed.skipped.len(), 1);
        assert_eq!((parsed.skipped[0].what.as_str(), parsed.skipped[0].reason.as_str()), ("pena24", "no title"));
        // The skipped paper keeps its letter, so the others keep their published ids.
        assert_eq!(ids(&parsed)[2..], V246_IDS[3..]);
    }

    #[test]
    fn not_bibtex_is_an_error() {
        for bad in ["", "  \n", "<!DOCTYPE html><html><body>Not Found</body></html>", "{\"error\": \"x\"}"] {
            assert!(parse_bibtex(bad, 246, None).is_err(), "{bad:?}");
        }
        // Comments and e-mail addresses are not entries; a file of only a @Proceedings entry has no papers.
        let parsed = parse_bibtex("% mail me@example.org\n@Proceedings{PGM2024, year = {2024}}", 246, None).unwrap();
        assert!(parsed.records.is_empty() && parsed.skipped.is_empty());
        assert_eq!(
            bib_url("https://proceedings.mlr.press/", 235),
            "https://proceedings.mlr.press/v235/assets/bib/bibliography.bib"
        );
    }

    #[test]
    fn names_in_every_form() {
        let name = |s: &str| {
            let n = parse_name(s);
            (n.first, n.von, n.last, n.jr)
        };
        let s = String::from;
        assert_eq!(name("Smith, John"), (s("John"), s(""), s("Smith"), s("")));
        assert_eq!(name("John Smith"), (s("John"), s(""), s("Smith"), s("")));
        assert_eq!(name("Ludwig van Beethoven"), (s("Ludwig"), s("van"), s("Beethoven"), s("")));
        assert_eq!(name("de la Fontaine, Jean"), (s("Jean"), s("de la"), s("Fontaine"), s("")));
        assert_eq!(name("King, Jr, Martin Luther"), (s("Martin Luther"), s(""), s("King"), s("Jr")));
        assert_eq!(name("{Barnes and Noble}"), (s(""), s(""), s("{Barnes and Noble}"), s("")));
        assert_eq!(name(r"\v{S}m\'{\i}d, Martin"), (s("Martin"), s(""), s(r"\v{S}m\'{\i}d"), s("")));
        assert_eq!(name("Plato"), (s(""), s(""), s("Plato"), s("")));
        let names: Vec<String> =
            split_names("A, B AND {Barnes and Noble} and C D and others").iter().map(Name::display).collect();
        assert_eq!(names, ["B A", "Barnes and Noble", "C D"]);
    }

    #[test]
    fn case_braces_go_and_the_others_stay() {
        assert_eq!(strip_case_braces("{AutoCD}: {Q}-conjugate"), "AutoCD: Q-conjugate");
        assert_eq!(strip_case_braces(r"$\rho{\in}[-1,+1]$ and $\{v_1\}$"), r"$\rho{\in}[-1,+1]$ and $\{v_1\}$");
        assert_eq!(
            strip_case_braces(r"\textbf{bold} \href{u}{t} Caba\~{n}as"),
            r"\textbf{bold} \href{u}{t} Caba\~{n}as"
        );
        assert_eq!(
            strip_case_braces(r#"{\c{S}en\"{o}z} Rodr{\'i}guez {\i}n Stra{\ss}e"#),
            r#"\c{S}en\"{o}z Rodr\'iguez {\i}n Stra{\ss}e"#
        );
        assert_eq!(strip_case_braces(r"100\% {\{}x"), r"100\% \{x");
        assert_eq!(strip_case_braces("unbalanced } and {"), "unbalanced } and ");
    }

    #[test]
    fn ascii_folding_and_parameterize() {
        assert_eq!(plain_lowercase(r"Pe\~na"), "pena");
        assert_eq!(plain_lowercase(r"Echave-Sustaeta Rodr{\'i}guez"), "echave-sustaeta rodriguez");
        assert_eq!(plain_lowercase("ŁÓDŹ Øre Straße Ærø Ğİş őű ž"), "lodz ore strasse aero gis ou z");
        assert_eq!(parameterize("o'brien24a"), "o-brien24a");
        assert_eq!(parameterize("--de  vries--24a"), "de-vries-24a");
        assert_eq!(parameterize("snake_case24a"), "snake_case24a");
    }

    proptest::proptest! {
        /// Whatever the text, the reader returns and never panics (slicing is by byte, so multi-byte white space
        /// and letters are in the soup).
        #[test]
        fn never_panics_on_bibtex_soup(
            parts in proptest::collection::vec(
                "(@InProceedings\\{|@Proceedings\\{|@comment\\{|@string\\(|pmlr-v1-|title|author|shortname|published|=|,|\\{|\\}|\"|#|\\$|\\\\|\\\\'|\\\\ss|\\\\c|and|AND|\n|\u{a0}|\u{3000}|é|2024-09-05|[ a-zA-Z0-9]{0,4})",
                0..60,
            )
        ) {
            let doc = parts.concat();
            let _ = parse_bibtex(&doc, 1, None);
            let _ = strip_case_braces(&doc);
            let _ = split_names(&doc);
            let _ = plain_lowercase(&doc);
        }
    }

    #[test]
    fn entry_reader_handles_the_bibtex_forms() {
        let entries = read_entries(
            "junk before\n@String{jmlr = \"JMLR\"}\n@comment{ignored {nested}}\n@Article(k1, title = \"A {\"}quoted\" # { and } # jmlr, year = 2020,)\n",
        );
        let ok: Vec<&Entry> = entries.iter().filter_map(|e| e.as_ref().ok()).collect();
        assert_eq!(ok.len(), 3);
        let article = ok[2];
        assert_eq!((article.kind.as_str(), article.key.as_str()), ("article", "k1"));
        assert_eq!(article.field("title"), Some("A {\"}quoted and jmlr"));
        assert_eq!(article.field("year"), Some("2020"));
        assert_eq!(article.line, 4);
        let parsed = parse_bibtex("@Article{k1, title = {T}}", 1, None).unwrap();
        assert_eq!(parsed.skipped[0].reason, "not a paper: @article");
        let parsed = parse_bibtex("@InProceedings{k1, title = {T} author = {A}}", 1, None).unwrap();
        assert!(parsed.skipped[0].reason.starts_with("unreadable entry"), "{:?}", parsed.skipped);
    }
}

//! Deciding whether a venue paper and an arXiv paper are one work: pure, no store, no index.
//!
//! Venue and arXiv versions of one paper differ in small ways: capitalisation and TeX in the title, a
//! changed subtitle, accents, author names with or without middle names or initials, authors added for the
//! camera-ready version. Two different papers rarely share both a near-identical title *and* authors, while
//! generic titles ("Attention is not all you need") do recur between unrelated papers, so the matcher asks for
//! both: title similarity ≥ [`MIN_TITLE_SIMILARITY`] after normalisation, and enough shared family names. A
//! candidate that passes is still refused when another candidate passes about as well (ambiguity is left
//! unlinked rather than guessed: precision first).

use crate::domain::tex;

/// Normalised titles must be at least this similar (1 − edit distance / longer length).
pub const MIN_TITLE_SIMILARITY: f64 = 0.95;
/// At least this share of the shorter author list's family names must appear in the other list.
pub const MIN_AUTHOR_OVERLAP: f64 = 0.5;

/// One side of a comparison: a title and its authors, display text.
#[derive(Debug, Clone, Copy)]
pub struct Work<'a> {
    pub title: &'a str,
    pub authors: &'a [String],
}

/// How well two works agree.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Agreement {
    /// 1 − Levenshtein distance / longer length, over normalised titles.
    pub title: f64,
    /// Shared family names / the shorter list's length (0 when either list is empty).
    pub authors: f64,
    /// Whether the titles' words with digits agree ("Step-Audio 2" is not "Step-Audio R1", "Llama 3" not
    /// "Llama 2"): one team's successive reports share authors and all but a version number.
    pub versions: bool,
}

impl Agreement {
    pub fn is_match(&self) -> bool {
        self.versions && self.title >= MIN_TITLE_SIMILARITY && self.authors >= MIN_AUTHOR_OVERLAP
    }

    /// A single number to rank passing candidates by.
    fn strength(&self) -> f64 {
        self.title + 0.5 * self.authors
    }
}

/// Lowercase letters and digits of `title` (TeX accents decoded and folded to ASCII, math and punctuation
/// dropped), one space between words.
pub fn normalize_title(title: &str) -> String {
    let decoded = tex::decode(title);
    let mut out = String::with_capacity(decoded.len());
    for ch in decoded.chars() {
        // Braces only protect case in BibTeX and ACL titles ("{D}irect"): they join, never split.
        if ch == '{' || ch == '}' {
            continue;
        }
        // Keep math's letters too: "$k$-means" and "k-means" must agree; only the markup goes.
        for c in fold(ch) {
            if c.is_alphanumeric() {
                out.extend(c.to_lowercase());
            } else {
                out.push(' ');
            }
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A family name, normalised: the last word of a display name ("Ada King Lovelace" → "lovelace"), accents
/// folded, letters only. Particles stay with the word they are part of only when joined ("van der Berg" →
/// "berg" on both sides, which is what matters).
pub fn family_name(name: &str) -> String {
    let decoded = tex::decode(name);
    let last = decoded.split_whitespace().last().unwrap_or("");
    last.chars().flat_map(fold).filter(|c| c.is_alphabetic()).flat_map(char::to_lowercase).collect()
}

/// Folds the Latin accents names and titles carry to ASCII (`tex::latin_ascii`: "é" → "e", "ß" → "ss",
/// "ø" → "o"); other characters pass unchanged.
fn fold(c: char) -> impl Iterator<Item = char> {
    let mut buf = [None, None];
    match tex::latin_ascii(c) {
        Some(s) => {
            let mut it = s.chars();
            buf = [it.next(), it.next()];
        }
        None => buf[0] = Some(c),
    }
    buf.into_iter().flatten()
}

/// Levenshtein distance over chars, two rows of memory.
fn levenshtein(a: &[char], b: &[char]) -> usize {
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// Similarity of two normalised titles in [0, 1].
pub fn title_similarity(a: &str, b: &str) -> f64 {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let longer = a.len().max(b.len());
    if longer == 0 {
        return 0.0;
    }
    1.0 - levenshtein(&a, &b) as f64 / longer as f64
}

/// Share of the shorter list's family names found in the other list.
pub fn author_overlap(a: &[String], b: &[String]) -> f64 {
    let fa: Vec<String> = a.iter().map(|n| family_name(n)).filter(|n| !n.is_empty()).collect();
    let fb: Vec<String> = b.iter().map(|n| family_name(n)).filter(|n| !n.is_empty()).collect();
    let (short, long) = if fa.len() <= fb.len() { (&fa, &fb) } else { (&fb, &fa) };
    if short.is_empty() {
        return 0.0;
    }
    let mut pool = long.clone();
    let mut shared = 0usize;
    for n in short {
        if let Some(i) = pool.iter().position(|m| m == n) {
            pool.swap_remove(i);
            shared += 1;
        }
    }
    shared as f64 / short.len() as f64
}

/// The words of a normalised title that hold a digit, sorted.
fn numbered_words(normalized: &str) -> Vec<&str> {
    let mut w: Vec<&str> = normalized.split(' ').filter(|w| w.bytes().any(|b| b.is_ascii_digit())).collect();
    w.sort_unstable();
    w
}

/// How well `venue` and `arxiv` agree.
pub fn agreement(venue: Work<'_>, arxiv: Work<'_>) -> Agreement {
    let (a, b) = (normalize_title(venue.title), normalize_title(arxiv.title));
    Agreement {
        title: title_similarity(&a, &b),
        authors: author_overlap(venue.authors, arxiv.authors),
        versions: numbered_words(&a) == numbered_words(&b),
    }
}

/// The one candidate that is the same work as `venue`, if exactly one clearly is: the best passing candidate,
/// unless a second passes within a small margin of it (two near-identical arXiv papers: left unlinked).
pub fn best_match<'a, I>(venue: Work<'_>, candidates: I) -> Option<(usize, Agreement)>
where
    I: IntoIterator<Item = Work<'a>>,
{
    let mut passing: Vec<(usize, Agreement)> = candidates
        .into_iter()
        .enumerate()
        .map(|(i, c)| (i, agreement(venue, c)))
        .filter(|(_, a)| a.is_match())
        .collect();
    passing.sort_by(|x, y| y.1.strength().total_cmp(&x.1.strength()));
    match passing.as_slice() {
        [] => None,
        [only] => Some(*only),
        [first, second, ..] => (first.1.strength() - second.1.strength() > 0.05).then_some(*first),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn titles_normalise_across_tex_case_and_punctuation() {
        assert_eq!(
            normalize_title("Alternative Measures of {D}irect and  Indirect Effects."),
            "alternative measures of direct and indirect effects"
        );
        assert_eq!(normalize_title("$k$-Means on Caf\\'e Graphs"), "k means on cafe graphs");
        assert_eq!(normalize_title("Pe\\~na's Méthode"), "pena s methode");
    }

    #[test]
    fn family_names_fold_accents_and_tex() {
        assert_eq!(family_name("Jose M. Pe\\~na"), "pena");
        assert_eq!(family_name("José M. Peña"), "pena");
        assert_eq!(family_name("Jürgen Schmidhüber"), "schmidhuber");
        assert_eq!(family_name(""), "");
    }

    #[test]
    fn same_work_matches_and_different_works_do_not() {
        let a = names(&["Jose M. Peña", "Ada Lovelace"]);
        let venue = Work { title: "Alternative Measures of Direct and Indirect Effects", authors: &a };
        let b = names(&["J. M. Pe\\~na", "A. Lovelace", "C. Babbage"]);
        let same = Work { title: "Alternative measures of direct and indirect effects", authors: &b };
        assert!(agreement(venue, same).is_match());
        // Same title, other people: two papers that happen to share a generic title.
        let c = names(&["Grace Hopper"]);
        let other_people = Work { title: "Alternative Measures of Direct and Indirect Effects", authors: &c };
        assert!(!agreement(venue, other_people).is_match());
        // Same people, another paper.
        let other_paper = Work { title: "Direct Effects in Mediation Analysis", authors: &b };
        assert!(!agreement(venue, other_paper).is_match());
        // Same team, the next version of the report (seen in `eval venue-link`).
        let t = names(&["Ada Lovelace", "Charles Babbage"]);
        let r1 = Work { title: "Step-Audio-R1 Technical Report", authors: &t };
        let v2 = Work { title: "Step-Audio 2 Technical Report", authors: &t };
        assert!(!agreement(r1, v2).is_match());
        assert_eq!(best_match(venue, [other_people, same, other_paper]).map(|(i, _)| i), Some(1));
    }

    #[test]
    fn ambiguity_is_left_unlinked() {
        let a = names(&["Ada Lovelace", "Charles Babbage"]);
        let venue = Work { title: "On Engines", authors: &a };
        let twin = Work { title: "On Engines", authors: &a };
        assert_eq!(best_match(venue, [twin, twin]), None);
        assert!(best_match(venue, std::iter::empty()).is_none());
    }

    proptest! {
        /// The measures are symmetric, bounded, and a work always matches itself (given a title and an author).
        #[test]
        fn measures_are_bounded_symmetric_and_reflexive(
            t1 in "[A-Za-z ]{1,40}", t2 in "[A-Za-z ]{0,40}",
            a1 in proptest::collection::vec("[A-Z][a-z]{1,8} [A-Z][a-z]{1,8}", 1..5),
            a2 in proptest::collection::vec("[A-Z][a-z]{1,8} [A-Z][a-z]{1,8}", 0..5),
        ) {
            let x = Work { title: &t1, authors: &a1 };
            let y = Work { title: &t2, authors: &a2 };
            let (xy, yx) = (agreement(x, y), agreement(y, x));
            prop_assert!((xy.title - yx.title).abs() < 1e-12 && (xy.authors - yx.authors).abs() < 1e-12);
            prop_assert!((0.0..=1.0).contains(&xy.title) && (0.0..=1.0).contains(&xy.authors));
            if !normalize_title(&t1).is_empty() {
                prop_assert!(agreement(x, x).is_match());
            }
        }
    }
}

//! `papertide eval venue-link`: the venue → arXiv matcher (`venues::link` behind `ingest::venues`) on a
//! labelled sample, reporting precision (the target: ≥ 0.99) and recall.
//!
//! No venue listing of 2025–26 (the corpus's years) can be had offline, so the labelled sample is derived from
//! the real corpus: each sampled arXiv paper P gets a "venue version" with the differences real venue records
//! show against arXiv (seen in the recorded ACL XML, PMLR BibTeX and OpenReview notes: title case and
//! punctuation, TeX accents against Unicode, BibTeX braces, dropped middle names, an author added or dropped for
//! the camera-ready, a subtitle cut, a reworded title). It is matched twice: against the whole corpus (truth:
//! P; a link elsewhere is a false positive, none is a miss) and against the corpus without P (truth: no link;
//! every link is a false positive, made on the corpus's own near-duplicate titles and shared authors). The real
//! recorded venue files (tests/fixtures/venues, 2024, none expected in a 2025–26 corpus) are matched too.

use std::path::PathBuf;

use anyhow::Context;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

use crate::app::App;
use crate::config::Config;
use crate::ingest::venues::match_works;

#[derive(Debug, clap::Args)]
pub struct EvalVenueLinkArgs {
    /// Corpus in Kaggle arXiv JSONL(.gz) form.
    #[arg(long, default_value = "../shared/data/arxiv-cs-2025-2026.jsonl.gz")]
    pub data: PathBuf,
    /// Papers sampled (each gives one positive and one negative case).
    #[arg(long, default_value_t = 2_000)]
    pub sample: usize,
    #[arg(long, default_value_t = 20261201)]
    pub seed: u64,
    /// Keep (and reuse) the imported corpus here.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Real venue files to match against the corpus too (ACL XML and PMLR BibTeX in this folder).
    #[arg(long, default_value = "tests/fixtures/venues")]
    pub fixtures: PathBuf,
    /// Print every false positive and this many misses.
    #[arg(long, default_value_t = 10)]
    pub show_misses: usize,
}

/// How a venue version differs from the arXiv one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Variant {
    Same,
    TitleCase,
    Punctuation,
    TexAccents,
    BracedTitle,
    InitialsDropped,
    AuthorAdded,
    AuthorDropped,
    SubtitleCut,
    Reworded,
}

const VARIANTS: [Variant; 10] = [
    Variant::Same,
    Variant::TitleCase,
    Variant::Punctuation,
    Variant::TexAccents,
    Variant::BracedTitle,
    Variant::InitialsDropped,
    Variant::AuthorAdded,
    Variant::AuthorDropped,
    Variant::SubtitleCut,
    Variant::Reworded,
];

fn title_case(t: &str) -> String {
    t.split(' ')
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_uppercase().chain(c).collect(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn tex_accents(s: &str) -> String {
    let mut out = String::new();
    for ch in s.chars() {
        match ch {
            'é' => out.push_str("\\'e"),
            'è' => out.push_str("\\`e"),
            'ü' => out.push_str("\\\"u"),
            'ö' => out.push_str("\\\"o"),
            'ä' => out.push_str("\\\"a"),
            'ñ' => out.push_str("\\~n"),
            'á' => out.push_str("\\'a"),
            'í' => out.push_str("{\\'i}"),
            'ó' => out.push_str("\\'o"),
            'ç' => out.push_str("\\c{c}"),
            c => out.push(c),
        }
    }
    out
}

/// The venue version of `(title, authors)` under `v`.
fn venue_version(v: Variant, title: &str, authors: &[String], rng: &mut StdRng) -> (String, Vec<String>) {
    let mut t = title.to_string();
    let mut a = authors.to_vec();
    match v {
        Variant::Same => {}
        Variant::TitleCase => t = title_case(&t.to_lowercase()),
        Variant::Punctuation => {
            t = t.replace(": ", " - ").replace(',', "");
            if !t.ends_with('.') {
                t.push('.');
            }
        }
        Variant::TexAccents => {
            t = tex_accents(&t);
            a = a.iter().map(|n| tex_accents(n)).collect();
        }
        Variant::BracedTitle => {
            t = t
                .split(' ')
                .map(|w| if w.chars().any(char::is_uppercase) { format!("{{{w}}}") } else { w.into() })
                .collect::<Vec<_>>()
                .join(" ");
        }
        Variant::InitialsDropped => {
            a = a
                .iter()
                .map(|n| {
                    let parts: Vec<&str> = n.split_whitespace().collect();
                    match parts.as_slice() {
                        [first, .., last] if parts.len() > 2 => format!("{first} {last}"),
                        [first, last] => format!("{}. {last}", first.chars().next().unwrap_or('X')),
                        _ => n.clone(),
                    }
                })
                .collect();
        }
        Variant::AuthorAdded => a.insert(rng.random_range(0..=a.len()), "Camille Ready".into()),
        Variant::AuthorDropped => {
            if a.len() > 1 {
                a.pop();
            }
        }
        Variant::SubtitleCut => {
            if let Some((head, _)) = t.split_once(": ") {
                t = head.to_string();
            }
        }
        Variant::Reworded => {
            // Camera-ready retitles: a word swapped for another and the order of two words changed.
            let mut words: Vec<String> = t.split(' ').map(String::from).collect();
            if words.len() > 3 {
                let i = rng.random_range(0..words.len());
                words[i] = "towards".into();
                let j = rng.random_range(0..words.len() - 1);
                words.swap(j, j + 1);
            }
            t = words.join(" ");
        }
    }
    (t, a)
}

#[derive(Debug, Default)]
struct Tally {
    cases: usize,
    correct: usize,
    wrong: usize,
    missed: usize,
}

pub fn run(args: &EvalVenueLinkArgs) -> anyhow::Result<()> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(run_async(args))
}

async fn run_async(args: &EvalVenueLinkArgs) -> anyhow::Result<()> {
    let base = Config::default();
    let started = std::time::Instant::now();
    let (dir, _keep) = match &args.data_dir {
        Some(d) => (d.clone(), None),
        None => {
            let t = tempfile::tempdir()?;
            (t.path().to_path_buf(), Some(t))
        }
    };
    let config = Config { data_dir: dir, ..base };
    let app = App::open(config).await?;
    let records = super::read_corpus(&args.data, |_| true)?;
    if app.store.paper_count().await? < records.len() as i64 {
        println!("importing {} papers…", records.len());
        super::store_corpus(&app, &records).await?;
    }
    let mut rng = StdRng::seed_from_u64(args.seed);
    let mut sample: Vec<&crate::arxiv::kaggle::KaggleRecord> = records.iter().collect();
    sample.shuffle(&mut rng);
    sample.truncate(args.sample);

    let mut cases = Vec::new();
    for r in &sample {
        let v = VARIANTS[rng.random_range(0..VARIANTS.len())];
        let title = crate::domain::tex::normalize_whitespace(&r.record.title);
        let (t, a) = venue_version(v, &title, &r.record.authors, &mut rng);
        cases.push((v, r.record.id.unversioned().to_string(), t, a));
    }
    let works: Vec<(String, Vec<String>)> = cases.iter().map(|c| (c.2.clone(), c.3.clone())).collect();
    let positive = match_works(&app, works.clone(), Vec::new()).await?;
    let excluded: Vec<Option<String>> = cases.iter().map(|c| Some(c.1.clone())).collect();
    let negative = match_works(&app, works, excluded).await?;

    let mut by_variant: std::collections::BTreeMap<String, Tally> = Default::default();
    let (mut pos, mut neg_links, mut duplicates) = (Tally::default(), 0usize, 0usize);
    let mut misses_shown = 0;
    for (i, (v, truth, t, _)) in cases.iter().enumerate() {
        let tally = by_variant.entry(format!("{v:?}")).or_default();
        tally.cases += 1;
        pos.cases += 1;
        match positive[i].as_ref().map(|id| id.to_string()) {
            Some(id) if &id == truth => {
                pos.correct += 1;
                tally.correct += 1;
            }
            Some(id) => {
                pos.wrong += 1;
                tally.wrong += 1;
                println!("FALSE POSITIVE ({v:?}): {t:?} linked to {id}, truth {truth}");
            }
            None => {
                pos.missed += 1;
                tally.missed += 1;
                if misses_shown < args.show_misses {
                    misses_shown += 1;
                    println!("miss ({v:?}): {t:?} (truth {truth})");
                }
            }
        }
        if let Some(id) = &negative[i] {
            // The corpus holds a few papers posted twice (same title, same authors): a link to the other copy
            // links the right work, so it is counted apart, not as a false positive.
            let pair = app.store.get_papers(&[truth.clone(), id.to_string()]).await?;
            let same_work = pair.len() == 2
                && crate::venues::link::normalize_title(&pair[0].title)
                    == crate::venues::link::normalize_title(&pair[1].title)
                && crate::venues::link::author_overlap(&pair[0].authors, &pair[1].authors) == 1.0;
            if same_work {
                duplicates += 1;
                println!("linked to an arXiv duplicate of the true paper ({v:?}): {t:?} → {id} (truth {truth})");
            } else {
                neg_links += 1;
                println!("FALSE POSITIVE without the true paper ({v:?}): {t:?} linked to {id}");
            }
        }
    }
    let links = pos.correct + pos.wrong + neg_links;
    let precision = if links == 0 { f64::NAN } else { pos.correct as f64 / links as f64 };
    let recall = pos.correct as f64 / pos.cases.max(1) as f64;
    println!(
        "\nvenue → arXiv linking, {} papers of {} ({} positive + {} negative cases)",
        sample.len(),
        args.data.display(),
        pos.cases,
        pos.cases
    );
    println!("| variant | cases | linked right | linked wrong | missed |");
    println!("|---|---|---|---|---|");
    for (v, t) in &by_variant {
        println!("| {v} | {} | {} | {} | {} |", t.cases, t.correct, t.wrong, t.missed);
    }
    println!(
        "links made {links}: right {}, wrong paper {}, linked with the true paper absent {neg_links} (and {duplicates} to an \
         arXiv duplicate of it, not counted)\nprecision {precision:.4}  recall {recall:.4}",
        pos.correct, pos.wrong
    );
    // Wilson lower bound of the precision, so "≥ 0.99" is read with its uncertainty.
    if links > 0 {
        let (n, p, z) = (links as f64, precision, 1.96f64);
        let lo = (p + z * z / (2.0 * n) - z * ((p * (1.0 - p) + z * z / (4.0 * n)) / n).sqrt()) / (1.0 + z * z / n);
        println!("precision 95% lower bound (Wilson) {lo:.4}");
    }

    // The real recorded venue files: 2024 papers, matched against the 2025–26 corpus.
    let mut real = Vec::new();
    for (name, volume) in [("acl-2024.hucllm.xml", "2024.hucllm-1"), ("acl-2024.scalellm.xml", "2024.scalellm-1")] {
        let path = args.fixtures.join(name);
        if let Ok(xml) = std::fs::read(&path) {
            real.extend(
                crate::venues::acl::parse_volume(&xml, volume).with_context(|| path.display().to_string())?.records,
            );
        }
    }
    let bib = args.fixtures.join("pmlr-v246-pgm24.bib");
    if let Ok(text) = std::fs::read_to_string(&bib) {
        real.extend(crate::venues::pmlr::parse_bibtex(&text, 246, None)?.records);
    }
    if !real.is_empty() {
        let works: Vec<(String, Vec<String>)> = real
            .iter()
            .map(|r| {
                (
                    crate::domain::tex::decode(&r.title),
                    r.authors.iter().map(|a| crate::domain::tex::decode(a)).collect(),
                )
            })
            .collect();
        let found = match_works(&app, works, Vec::new()).await?;
        let linked: Vec<String> = real
            .iter()
            .zip(&found)
            .filter_map(|(r, id)| id.as_ref().map(|id| format!("{} → {id} ({})", r.key, r.title)))
            .collect();
        println!(
            "\nreal venue records (tests/fixtures/venues): {} matched against the corpus, {} linked",
            real.len(),
            linked.len()
        );
        for l in linked {
            println!("  {l}");
        }
    }
    println!("({:.1} s)", started.elapsed().as_secs_f64());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variants_change_what_they_say() {
        let mut rng = StdRng::seed_from_u64(1);
        let a = vec!["José María Peña".to_string(), "Ada Lovelace".to_string()];
        let (t, _) = venue_version(Variant::SubtitleCut, "Sparse Experts: A Study", &a, &mut rng);
        assert_eq!(t, "Sparse Experts");
        let (_, au) = venue_version(Variant::TexAccents, "x", &a, &mut rng);
        assert_eq!(au[0], "Jos\\'e Mar{\\'i}a Pe\\~na");
        let (_, au) = venue_version(Variant::InitialsDropped, "x", &a, &mut rng);
        assert_eq!(au, ["José Peña", "A. Lovelace"]);
        let (t, _) = venue_version(Variant::BracedTitle, "BERT for Search", &a, &mut rng);
        assert_eq!(t, "{BERT} for {Search}");
    }
}

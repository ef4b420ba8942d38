//! Venue runs: fetch a venue's proceedings through the one polite client, parse, store (resumable), then link
//! venue papers to the arXiv papers they are (`venues::link`).
//!
//! Politeness as with arXiv: every request goes through `net::http` (per-host pacing, the retry decorator,
//! bounded bodies); whole files (ACL XML, PMLR BibTeX, CVF listings) are fetched conditionally and their
//! validators kept after the data is stored. A source that refuses us (403, a bot challenge, 429 after the
//! retries) ends that venue's run with a counted error and a resumable checkpoint: it is never hammered.

use std::collections::HashMap;

use super::{IngestError, RunSummary};
use crate::app::App;
use crate::domain::{ArxivId, Conference, PaperKey};
use crate::net::http::{FetchError, Fetched, Validators};
use crate::search::SearchOptions;
use crate::store::{LinkMethod, StoredVenuePaper, VenueOutcome};
use crate::venues::link::{self, Work};
use crate::venues::{self, Parsed, VenueTarget};

/// Candidates per venue paper from the title search.
const CANDIDATES: usize = 10;
/// Unlinked venue papers linked per round trip to the store and index.
const LINK_PAGE: i64 = 500;

/// Runs one venue: fetch, store, link. Errors that end the venue's run (a refusal, an unreadable document)
/// are recorded in `summary`; only a failing store is an `Err`.
pub async fn run(app: &App, target: &VenueTarget, summary: &mut RunSummary) -> Result<(), IngestError> {
    match target {
        VenueTarget::OpenReview(venue_id) => openreview(app, venue_id, summary).await?,
        VenueTarget::Acl(volume) => {
            let Some((collection, _)) = venues::acl::collection_of(volume) else {
                summary.error(format!("{target}: not an Anthology volume id"));
                return Ok(());
            };
            let url = venues::acl::xml_url(&app.config.venues.acl_url, collection);
            let volume = volume.clone();
            whole_file(app, target, &url, summary, move |body| venues::acl::parse_volume(body, &volume)).await?;
        }
        VenueTarget::Pmlr(volume) => {
            let url = venues::pmlr::bib_url(&app.config.venues.pmlr_url, *volume);
            let volume = *volume;
            whole_file(app, target, &url, summary, move |body| {
                venues::pmlr::parse_bibtex(&String::from_utf8_lossy(body), volume, None::<&Conference>)
            })
            .await?;
        }
        VenueTarget::Cvf(conference) => cvf(app, conference, summary).await?,
    }
    link_unlinked(app, summary).await?;
    Ok(())
}

/// Parses on the blocking pool: a conference's listing or volume file is megabytes of HTML, XML or BibTeX,
/// CPU work that must not hold up the async runtime.
async fn off_runtime<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, IngestError> {
    tokio::task::spawn_blocking(f).await.map_err(|e| IngestError::Other(format!("parser panicked: {e}")))
}

/// Why a fetch ended a venue's run, in the summary's words; 403 and 429 say the source is refusing us.
fn refused(target: &VenueTarget, e: &FetchError) -> String {
    match e {
        FetchError::Status { status: 403, url, .. } => {
            format!("{target}: {url} answered 403 (bot protection or access rule): stopped; the next run resumes here")
        }
        _ => format!("{target}: {e}"),
    }
}

/// Stores parsed records (with `checkpoint` in the same transaction) and counts them in `summary`.
async fn store(
    app: &App,
    parsed: Parsed,
    checkpoint: Option<(&str, &str)>,
    summary: &mut RunSummary,
) -> Result<(), IngestError> {
    summary.fetched += (parsed.records.len() + parsed.skipped.len()) as u64;
    for s in parsed.skipped {
        summary.skip(s);
    }
    let outcome: VenueOutcome =
        app.store.upsert_venue_batch(&parsed.records, checkpoint).await.map_err(IngestError::Store)?;
    summary.new += outcome.inserted as u64;
    summary.updated += outcome.updated as u64;
    summary.unchanged += outcome.unchanged as u64;
    summary.truncated += outcome.truncated as u64;
    app.index_venues().await;
    app.touch();
    Ok(())
}

/// A venue published as one file (ACL XML, PMLR BibTeX): a conditional GET, parse, store, then keep the
/// validators (after the data, so a crash in between re-reads the file instead of skipping it).
async fn whole_file(
    app: &App,
    target: &VenueTarget,
    url: &str,
    summary: &mut RunSummary,
    parse: impl FnOnce(&[u8]) -> Result<Parsed, venues::ParseError> + Send + 'static,
) -> Result<(), IngestError> {
    let Some(fetched) = fetch_conditional(app, target, url, summary).await? else { return Ok(()) };
    let body = fetched.body.clone();
    match off_runtime(move || parse(&body)).await? {
        Ok(parsed) => {
            let whole = parsed.whole();
            store(app, parsed, None, summary).await?;
            save_validators(app, target, url, &fetched, whole, summary).await?;
        }
        Err(e) => summary.error(format!("{target}: {url}: {e}")),
    }
    Ok(())
}

/// GETs `url` with its stored validators. `None`: not modified (noted) or failed (recorded).
async fn fetch_conditional(
    app: &App,
    target: &VenueTarget,
    url: &str,
    summary: &mut RunSummary,
) -> Result<Option<Fetched>, IngestError> {
    let (etag, last_modified) = app.store.feed_validators(url).await?;
    let validators = Validators { etag, last_modified };
    summary.requests += 1;
    match app.http.get(url, Some(&validators)).await {
        Ok(f) if f.not_modified => {
            summary.notes.push(format!("{target}: {url} not modified since the last run"));
            Ok(None)
        }
        Ok(f) => Ok(Some(f)),
        Err(e) => {
            summary.error(refused(target, &e));
            Ok(None)
        }
    }
}

/// Keeps a fetched file's cache validators for the next conditional GET, but only when the file was read
/// `whole`: one read in part (cut off, unreadable) is noted and fetched whole again next time.
async fn save_validators(
    app: &App,
    target: &VenueTarget,
    url: &str,
    f: &Fetched,
    whole: bool,
    summary: &mut RunSummary,
) -> Result<(), IngestError> {
    if !whole {
        summary.notes.push(format!("{target}: {url} was read only in part: the next run fetches it whole"));
    } else if f.etag.is_some() || f.last_modified.is_some() {
        app.store.put_feed_validators(url, f.etag.as_deref(), f.last_modified.as_deref()).await?;
    }
    Ok(())
}

/// OpenReview pages by offset; the next offset is stored with each page, so a killed run resumes at the
/// first page it had not stored, and a finished run clears it (the next refresh reads from the start and
/// finds what changed).
async fn openreview(app: &App, venue_id: &str, summary: &mut RunSummary) -> Result<(), IngestError> {
    let target = VenueTarget::OpenReview(venue_id.to_string());
    let cfg = &app.config.venues;
    let checkpoint_key = format!("venue:{target}");
    let mut offset: u64 = app.store.checkpoint(&checkpoint_key).await?.and_then(|v| v.parse().ok()).unwrap_or(0);
    if offset > 0 {
        summary.notes.push(format!("{target}: resuming at offset {offset}"));
    }
    let limit = cfg.openreview_page_size.clamp(1, 1_000);
    loop {
        let url = venues::openreview::notes_url(&cfg.openreview_url, venue_id, offset, limit);
        summary.requests += 1;
        let body = match app.http.get(&url, None).await {
            Ok(f) => f.body,
            Err(FetchError::Status { status, ref body, ref url })
                if status == 403 || venues::openreview::is_challenge(body) =>
            {
                summary.error(format!(
                    "{target}: {url} answered {status} (OpenReview asks anonymous clients for a challenge): stopped \
                     at offset {offset}; the next run resumes here"
                ));
                return Ok(());
            }
            Err(e) => {
                summary.error(refused(&target, &e));
                return Ok(());
            }
        };
        if venues::openreview::is_challenge(&body) {
            summary.error(format!("{target}: {url} answered a bot challenge: stopped at offset {offset}"));
            return Ok(());
        }
        let id = venue_id.to_string();
        let parsed = match off_runtime(move || venues::openreview::parse_notes(&body, &id)).await? {
            Ok(p) => p,
            Err(e) => {
                summary.error(format!("{target}: {url}: {e}; stopped at offset {offset}"));
                return Ok(());
            }
        };
        let seen = (parsed.records.len() + parsed.skipped.len()) as u64;
        let total = parsed.total;
        let next = offset + seen;
        let done = seen == 0 || total.is_some_and(|t| next >= t);
        let value = next.to_string();
        store(app, parsed, Some((&checkpoint_key, &value)), summary).await?;
        if done {
            app.store.delete_checkpoint(&checkpoint_key).await?;
            return Ok(());
        }
        offset = next;
    }
}

/// CVF: the listing (following day pages when `day=all` lists none), then abstracts from paper pages, a
/// bounded number per run: a conference has thousands, at one request per 3 s.
async fn cvf(app: &App, conference: &str, summary: &mut RunSummary) -> Result<(), IngestError> {
    let target = VenueTarget::Cvf(conference.to_string());
    let cfg = &app.config.venues;
    let url = venues::cvf::listing_url(&cfg.cvf_url, conference);
    let Some(fetched) = fetch_conditional(app, &target, &url, summary).await? else {
        return cvf_abstracts(app, &target, summary).await;
    };
    let html = String::from_utf8_lossy(&fetched.body).into_owned();
    let (page, conf) = (html.clone(), conference.to_string());
    let mut whole = true;
    match off_runtime(move || venues::cvf::parse_listing(&page, &conf)).await? {
        Ok(parsed) if !parsed.records.is_empty() || !parsed.skipped.is_empty() => {
            whole = parsed.whole();
            store(app, parsed, None, summary).await?;
        }
        Ok(_) => {
            // Listings by day: follow each day's page.
            for day in venues::cvf::day_links(&html) {
                let day_url = absolute(&cfg.cvf_url, &url, &day);
                summary.requests += 1;
                match app.http.get(&day_url, None).await {
                    Ok(f) => match off_runtime({
                        let conf = conference.to_string();
                        move || venues::cvf::parse_listing(&String::from_utf8_lossy(&f.body), &conf)
                    })
                    .await?
                    {
                        Ok(parsed) => {
                            store(app, parsed, None, summary).await?;
                        }
                        Err(e) => summary.error(format!("{target}: {day_url}: {e}")),
                    },
                    Err(e) => {
                        summary.error(refused(&target, &e));
                        return Ok(());
                    }
                }
            }
        }
        Err(e) => {
            summary.error(format!("{target}: {url}: {e}"));
            return Ok(());
        }
    }
    save_validators(app, &target, &url, &fetched, whole, summary).await?;
    cvf_abstracts(app, &target, summary).await
}

/// A link on a CVF page, made absolute: `?day=…` is relative to the listing, `/…` to the host.
fn absolute(base: &str, page: &str, href: &str) -> String {
    if href.starts_with("http://") || href.starts_with("https://") {
        href.to_string()
    } else if let Some(query) = href.strip_prefix('?') {
        format!("{}?{query}", page.split('?').next().unwrap_or(page))
    } else {
        format!("{}/{}", base.trim_end_matches('/'), href.trim_start_matches('/'))
    }
}

/// Fills in abstracts of stored CVF papers that have none, at most `cvf_abstracts_per_run`.
async fn cvf_abstracts(app: &App, target: &VenueTarget, summary: &mut RunSummary) -> Result<(), IngestError> {
    let VenueTarget::Cvf(conference) = target else { return Ok(()) };
    let cfg = &app.config.venues;
    let missing = app.store.venue_papers_without_abstract("cvf", cfg.cvf_abstracts_per_run as i64).await?;
    let mut filled = 0usize;
    for paper in missing {
        let PaperKey::Cvf { conference: c, slug } = &paper.key else { continue };
        if c != conference {
            continue;
        }
        let url = venues::cvf::paper_url(&cfg.cvf_url, c, slug);
        summary.requests += 1;
        let body = match app.http.get(&url, None).await {
            Ok(f) => f.body,
            Err(e) => {
                summary.error(refused(target, &e));
                break;
            }
        };
        match venues::cvf::parse_abstract(&String::from_utf8_lossy(&body)) {
            Some(text) => {
                app.store.set_venue_abstract(&paper.key, &text).await?;
                filled += 1;
            }
            None => summary.skip(crate::domain::Skipped { what: url, reason: "no abstract on the paper page".into() }),
        }
    }
    if filled > 0 {
        summary.notes.push(format!("{target}: {filled} abstracts fetched from paper pages"));
        app.index_venues().await;
        app.touch();
    }
    Ok(())
}

/// Links every unlinked venue paper that is a stored arXiv paper: the source's own arXiv link first, else
/// the title search's candidates judged by `venues::link`. Runs after every venue run (new venue papers) and
/// can run after arXiv ingests (new arXiv papers); cheap for papers already linked (they are not read).
pub async fn link_unlinked(app: &App, summary: &mut RunSummary) -> Result<u64, IngestError> {
    let mut after = String::new();
    let mut linked = 0u64;
    loop {
        let page = app.store.unlinked_venue_papers(&after, LINK_PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.key.to_string();
        let mut rest = Vec::new();
        for p in page {
            if let Some(id) = app.store.venue_source_arxiv_id(&p.key).await?
                && app.store.get_paper(&id).await?.is_some()
            {
                linked += u64::from(app.store.link_venue_paper(&p.key, &id, LinkMethod::Source).await?);
                continue;
            }
            rest.push(p);
        }
        for (key, id) in match_page(app, rest).await? {
            linked += u64::from(app.store.link_venue_paper(&key, &id, LinkMethod::Match).await?);
        }
    }
    if linked > 0 {
        summary.notes.push(format!("linked {linked} venue papers to their arXiv versions"));
        app.index_venues().await;
        app.touch();
    }
    summary.linked += linked;
    Ok(linked)
}

/// Title-search candidates for each paper (on the blocking pool: tantivy is CPU work), then the matcher.
async fn match_page(app: &App, papers: Vec<StoredVenuePaper>) -> Result<Vec<(PaperKey, ArxivId)>, IngestError> {
    let works: Vec<(String, Vec<String>)> = papers.iter().map(|p| (p.title.clone(), p.authors.clone())).collect();
    let found = match_works(app, works, Vec::new()).await?;
    Ok(papers.into_iter().zip(found).filter_map(|(p, id)| Some((p.key, id?))).collect())
}

/// The stored arXiv paper each `(title, authors)` is, where exactly one clearly is (`venues::link`): the title
/// search's top candidates (minus the id `exclude[i]` names, for evaluations), judged by the matcher. Empty
/// answers while search is unavailable: linking waits for the next run.
pub async fn match_works(
    app: &App,
    works: Vec<(String, Vec<String>)>,
    exclude: Vec<Option<String>>,
) -> Result<Vec<Option<ArxivId>>, IngestError> {
    if works.is_empty() || app.search_unavailable().is_some() {
        return Ok(vec![None; works.len()]);
    }
    let index = app.index.clone();
    let queries: Vec<String> = works.iter().map(|(t, _)| title_query(t)).collect();
    let hits: Vec<Vec<String>> = tokio::task::spawn_blocking(move || {
        let opts = SearchOptions { limit: CANDIDATES + 1, ..Default::default() };
        queries
            .iter()
            .enumerate()
            .map(|(i, q)| {
                if q.is_empty() {
                    return Vec::new();
                }
                let skip = exclude.get(i).and_then(Option::as_deref);
                let found = index.search(q, &opts).map(|r| r.hits).unwrap_or_default();
                found.into_iter().map(|h| h.id).filter(|id| Some(id.as_str()) != skip).take(CANDIDATES).collect()
            })
            .collect()
    })
    .await
    .map_err(|e| IngestError::Other(format!("title search panicked: {e}")))?;
    let mut ids: Vec<String> = hits.iter().flatten().cloned().collect();
    ids.sort();
    ids.dedup();
    let stored: HashMap<String, crate::store::StoredPaper> =
        app.store.get_papers(&ids).await?.into_iter().map(|p| (p.id.to_string(), p)).collect();
    let matched = tokio::task::spawn_blocking(move || {
        works
            .iter()
            .zip(&hits)
            .map(|((title, authors), cands)| {
                let cands: Vec<&crate::store::StoredPaper> = cands.iter().filter_map(|id| stored.get(id)).collect();
                let venue = Work { title, authors };
                let candidates = cands.iter().map(|c| Work { title: &c.title, authors: &c.authors });
                link::best_match(venue, candidates).map(|(i, _)| cands[i].id.clone())
            })
            .collect::<Vec<_>>()
    })
    .await
    .map_err(|e| IngestError::Other(format!("matching panicked: {e}")))?;
    Ok(matched)
}

/// A title as a query on the title field only: its normalised words, each `title:word` (no query syntax can
/// survive normalisation), at most 32.
pub fn title_query(title: &str) -> String {
    link::normalize_title(title)
        .split(' ')
        .filter(|w| !w.is_empty())
        .take(32)
        .map(|w| format!("title:{w}"))
        .collect::<Vec<_>>()
        .join(" ")
}

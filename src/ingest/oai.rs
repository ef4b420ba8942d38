//! OAI-PMH harvests: backfill and the nightly metadata refresh (dates, versions, DOIs).
//!
//! Each page's records are stored in the same transaction as the resumptionToken that follows them, so a
//! run killed at any moment resumes at the first page it had not stored, and no page is stored twice.

use chrono::NaiveDate;

use super::{IngestError, RunSummary};
use crate::app::App;
use crate::arxiv::oai::{self, OaiError, OaiErrorCode};

/// How often one page may come back unreadable or inconsistent before the run stops (its checkpoint stays
/// for a re-run).
const MAX_MALFORMED_TRIES: u32 = 3;

/// Where the list stood after the previous page of this run: its declared size and how many records the
/// pages so far covered (cursor + page size), when the repository said.
#[derive(Debug, Clone, Copy, Default)]
struct Progress {
    declared: Option<u64>,
    covered: Option<u64>,
}

/// Checks a page against what the list declared (OAI-PMH 2.0 §3.5: `cursor` counts the records before the
/// page, `completeListSize` the whole list), so a short page or a list that ends early is a fault, not a
/// complete harvest. `resumed`: the page was asked for with a resumptionToken. Returns the progress after
/// the page, or why it does not fit.
fn check_page(page: &oai::OaiPage, resumed: bool, before: Progress) -> Result<Progress, String> {
    let count = (page.records.len() + page.deleted.len() + page.skipped.len()) as u64;
    let token = page.resumption_token.as_ref();
    let cursor = token.and_then(|t| t.cursor);
    let declared = token.and_then(|t| t.complete_list_size).or(before.declared);
    if let (Some(expected), Some(cursor)) = (before.covered, cursor)
        && cursor != expected
    {
        return Err(format!("the page starts at record {cursor}, but the pages before it ended at {expected}"));
    }
    let start = cursor.or(before.covered);
    let covered = start.map(|c| c + count);
    if let (Some(covered), Some(declared)) = (covered, declared)
        && covered > declared
    {
        return Err(format!("the pages hold {covered} records, more than the {declared} the list declared"));
    }
    let last = token.is_none_or(oai::ResumptionToken::is_final);
    if last && resumed {
        // The last page of a resumed list ends the list: it must reach the declared size.
        if let Some(declared) = declared
            && covered != Some(declared)
        {
            let got = covered.map_or("fewer".to_string(), |c| c.to_string());
            return Err(format!("the list ended after {got} of the {declared} records it declared"));
        }
    }
    Ok(Progress { declared, covered })
}

/// A page that came back unreadable or not fitting its list: its whole records are stored without moving
/// the checkpoint, and the page is asked for again, at most [`MAX_MALFORMED_TRIES`] times in a row. Returns
/// true when the run should stop (the error, `msg` + `stop_note`, is recorded; the checkpoint stays).
async fn keep_and_ask_again(
    app: &App,
    summary: &mut RunSummary,
    records: &[crate::domain::PaperRecord],
    tries: &mut u32,
    msg: String,
    stop_note: &str,
) -> Result<bool, IngestError> {
    let outcome = app.store_batch(records, &[], None).await?;
    summary.add_outcome(&outcome);
    *tries += 1;
    if *tries >= MAX_MALFORMED_TRIES {
        summary.error(format!("{msg}{stop_note}"));
        app.commit_index().await?;
        return Ok(true);
    }
    summary.notes.push(format!("{msg}; fetching the page again"));
    Ok(false)
}

/// One harvest: a set, a metadata format and an optional date window.
#[derive(Debug, Clone)]
pub struct Harvest {
    pub set: Option<String>,
    pub prefix: String,
    pub from: Option<NaiveDate>,
    pub until: Option<NaiveDate>,
}

impl Harvest {
    /// The checkpoint under which this harvest's resumptionToken is kept.
    fn key(&self) -> String {
        let day = |d: Option<NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
        format!("oai:{}:{}:{}:{}", self.set.as_deref().unwrap_or("*"), self.prefix, day(self.from), day(self.until))
    }
}

/// Runs (or resumes) `h` to the end of its list.
pub async fn harvest(app: &App, h: &Harvest, summary: &mut RunSummary) -> Result<(), IngestError> {
    let base = app.config.arxiv.oai_url.clone();
    let key = h.key();
    let mut token = app.store.checkpoint(&key).await?.filter(|t| !t.is_empty());
    if let Some(t) = &token {
        summary.notes.push(format!("resuming an interrupted harvest at resumptionToken {t}"));
    }
    let mut restarted = false;
    let mut malformed_tries = 0;
    let mut progress = Progress::default();
    loop {
        let url = match &token {
            Some(t) => oai::resume_url(&base, t),
            None => oai::list_records_url(&base, &h.prefix, h.set.as_deref(), h.from, h.until),
        };
        summary.requests += 1;
        let body = match app.http.get_document(&url, None, oai::DOCUMENT).await {
            Ok(f) => f.body,
            Err(e) => {
                summary.error(format!("OAI-PMH {url}: {e}"));
                return Ok(());
            }
        };
        let page = match oai::parse_list_records(&body) {
            Ok(page) => page,
            Err(OaiError::Protocol { code: OaiErrorCode::NoRecordsMatch, .. }) => {
                summary.notes.push("OAI-PMH: no records match this window".into());
                break;
            }
            Err(OaiError::Protocol { code: OaiErrorCode::BadResumptionToken, message }) if !restarted => {
                // Tokens expire; the upserts are idempotent, so starting the window again is safe.
                summary.notes.push(format!("OAI-PMH rejected the resumptionToken ({message}); restarting the harvest"));
                app.store.delete_checkpoint(&key).await?;
                token = None;
                restarted = true;
                progress = Progress::default();
                continue;
            }
            Err(OaiError::Malformed { cause, partial }) => {
                let msg =
                    format!("OAI-PMH {url}: unreadable response after {} records: {cause}", partial.records.len());
                if keep_and_ask_again(app, summary, &partial.records, &mut malformed_tries, msg, "").await? {
                    return Ok(());
                }
                continue;
            }
            Err(e) => {
                summary.error(format!("OAI-PMH {url}: {e}"));
                return Ok(());
            }
        };
        let resumed = token.is_some();
        let after = match check_page(&page, resumed, progress) {
            Ok(after) => after,
            Err(why) => {
                let msg = format!("OAI-PMH {url}: incomplete list: {why}");
                let stop = "; the harvest stops here and resumes from this page next run";
                if keep_and_ask_again(app, summary, &page.records, &mut malformed_tries, msg, stop).await? {
                    return Ok(());
                }
                continue;
            }
        };
        progress = after;
        malformed_tries = 0;
        summary.fetched += page.records.len() as u64;
        for s in page.skipped {
            summary.skip(s);
        }
        if !page.deleted.is_empty() {
            summary.notes.push(format!("{} records are marked deleted upstream (kept here)", page.deleted.len()));
        }
        let next = page.resumption_token.map(|t| t.token).filter(|t| !t.trim().is_empty());
        let outcome = app.store_batch(&page.records, &[], Some((&key, next.as_deref().unwrap_or("")))).await?;
        summary.add_outcome(&outcome);
        app.commit_index().await?;
        match next {
            Some(t) => token = Some(t),
            None => break,
        }
    }
    app.store.delete_checkpoint(&key).await?;
    if let Some(until) = h.until {
        let set = h.set.as_deref().unwrap_or("*");
        app.store.put_checkpoint(&format!("oai-last-until:{set}"), &until.to_string()).await?;
    }
    Ok(())
}

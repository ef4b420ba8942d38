//! Conference proceedings: `/venue` (the stored editions), `/venue/{CONF}` (its latest edition),
//! `/venue/{CONF}.{YEAR}` (listing by track, paged), `/venue/…/feed`, `/venue/latest/feed`, venue paper pages
//! `/venue/paper/{key}`, and their JSON mirrors under `/api/venue/…`.

use std::collections::HashMap;

use askama::Template;
use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{Value, json};

use super::cache::{Page, cached};
use super::error::render_error;
use super::feeds::{Channel, xml_chars};
use super::foryou::Order;
use super::views::{AuthorView, Chrome, author_search, percent_encode};
use super::{WebError, WebState, params, text};
use crate::app::App;
use crate::domain::{Conference, Edition, PaperKey};
use crate::store::{EditionCount, StoredVenuePaper, TrackCount};

/// Papers per listing page.
const PAGE: usize = 50;
/// Items in a venue feed.
const FEED_ITEMS: i64 = 100;

/// What `/venue/{*rest}` names.
#[derive(Debug, PartialEq)]
pub enum VenuePath {
    /// `/venue/{CONF}` or `/venue/{CONF}.{YEAR}`, `feed` for its feed.
    Conference { conference: Conference, year: Option<u16>, feed: bool },
    /// `/venue/latest/feed`: every venue's newest papers.
    LatestFeed,
    /// `/venue/paper/{key}`.
    Paper(PaperKey),
    /// `/venue/paper/{key}/summary`: its FAQ summary page.
    Summary(PaperKey),
}

/// Reads the rest of a `/venue/` path. `paper` and `latest` are words of the site, never conference names.
pub fn parse(rest: &str) -> Result<VenuePath, WebError> {
    let rest = rest.trim_matches('/');
    if let Some(key) = rest.strip_prefix("paper/") {
        // `…/summary` is the summary page, unless what precedes it is no key (a PMLR id may end in "summary").
        if let Some(k) = key.strip_suffix("/summary")
            && let Ok(k) = PaperKey::parse(k)
            && k.source().is_some()
        {
            return Ok(VenuePath::Summary(k));
        }
        let key = PaperKey::parse(key).map_err(|e| WebError::bad_request(e.to_string()))?;
        if key.source().is_none() {
            return Err(WebError::not_found(format!("{key} is an arXiv paper: see /arxiv/{key}.")));
        }
        return Ok(VenuePath::Paper(key));
    }
    let (body, feed) = match rest.strip_suffix("/feed") {
        Some(body) => (body, true),
        None => (rest, false),
    };
    if body == "latest" {
        return if feed {
            Ok(VenuePath::LatestFeed)
        } else {
            Err(WebError::not_found("The newest venue papers are a feed: /venue/latest/feed."))
        };
    }
    if body.contains('/') {
        return Err(WebError::not_found("There is nothing here; try /venue, /venue/ICLR or /venue/ICLR.2025."));
    }
    let ends_in_year = body.len() > 4 && body.as_bytes()[body.len() - 4..].iter().all(u8::is_ascii_digit);
    if ends_in_year {
        let e = Edition::parse(body).map_err(|e| WebError::bad_request(e.to_string()))?;
        return Ok(VenuePath::Conference { conference: e.conference, year: Some(e.year), feed });
    }
    let conference = Conference::parse(body).map_err(|e| WebError::bad_request(e.to_string()))?;
    Ok(VenuePath::Conference { conference, year: None, feed })
}

/// A venue paper as pages show it.
pub struct VenuePaperView {
    pub key: String,
    pub url: String,
    /// What the star button stores: the arXiv id when linked (one work, one star), else the key.
    pub star_id: String,
    pub edition: String,
    pub edition_url: String,
    pub track: String,
    pub title: String,
    pub title_html: String,
    pub abstract_html: String,
    pub authors: Vec<AuthorView>,
    pub keywords: Vec<String>,
    pub pdf_url: Option<String>,
    pub source_url: String,
    pub source_label: &'static str,
    pub arxiv_id: Option<String>,
    /// Why "For you" put the paper where it is.
    pub why: Option<String>,
}

impl VenuePaperView {
    pub(super) fn new(p: &StoredVenuePaper) -> Self {
        let key = p.key.to_string();
        VenuePaperView {
            url: format!("/venue/paper/{key}"),
            star_id: p.arxiv_id.as_ref().map_or_else(|| key.clone(), |id| id.to_string()),
            key,
            edition: format!("{} {}", p.edition.conference, p.edition.year),
            edition_url: format!("/venue/{}", p.edition),
            track: p.track.clone().unwrap_or_default(),
            title: p.title.clone(),
            title_html: text::rich(&p.title, &[]),
            abstract_html: text::rich(&p.abstract_text, &[]),
            authors: p.authors.iter().map(|a| AuthorView { name: a.clone(), search: author_search(a) }).collect(),
            keywords: p.keywords.clone(),
            pdf_url: p.pdf_url.clone().filter(|u| u.starts_with("https://") || u.starts_with("http://")),
            source_url: p.key.source_url(),
            source_label: p.source.label(),
            arxiv_id: p.arxiv_id.as_ref().map(ToString::to_string),
            why: None,
        }
    }
}

#[derive(Template)]
#[template(path = "venue_index.html")]
struct IndexPage {
    chrome: Chrome,
    editions: Vec<EditionCount>,
    followed: Vec<String>,
}

#[derive(Template)]
#[template(path = "venue_listing.html")]
struct ListingPage {
    chrome: Chrome,
    edition: Edition,
    tracks: Vec<(TrackCount, String, bool)>,
    all_url: String,
    total: i64,
    shown_from: usize,
    shown_to: usize,
    prev_page: Option<String>,
    next_page: Option<String>,
    papers: Vec<VenuePaperView>,
    order: super::foryou::OrderControl,
}

#[derive(Template)]
#[template(path = "venue_paper.html")]
struct PaperPage {
    chrome: Chrome,
    p: VenuePaperView,
    /// Related arXiv papers of a venue paper without an arXiv version (a linked one links to its version's).
    related: Vec<RelatedLink>,
    /// Why the list is lexical, when it is.
    related_note: Option<String>,
}

/// One related arXiv paper on a venue paper's page.
struct RelatedLink {
    id: String,
    title_html: String,
    source: String,
}

fn html(page: impl Template) -> Result<Page, WebError> {
    Ok(Page::new(page.render().map_err(render_error)?, "text/html; charset=utf-8", "public, max-age=60"))
}

/// `GET /venue`.
pub(super) async fn index(State(state): State<WebState>, headers: HeaderMap) -> Result<Response, WebError> {
    cached(&state, "venue:index".into(), &headers, async {
        let editions = state.app.store.venue_editions().await?;
        let followed = state.app.config.venues.follow.iter().map(ToString::to_string).collect();
        let chrome = Chrome::new("Venues").with_feed("Papertide: newest venue papers", "/venue/latest/feed");
        html(IndexPage { chrome, editions, followed })
    })
    .await
}

/// `GET /venue/{*rest}`.
pub(super) async fn venue(
    State(state): State<WebState>,
    Path(rest): Path<String>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
    req: axum::extract::Request,
) -> Result<Response, WebError> {
    let (parts, _) = req.into_parts();
    let headers = parts.headers;
    let peer = parts.extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip());
    let Query(q) = query.map_err(|_| WebError::bad_request("The query string could not be read."))?;
    match parse(&rest)? {
        VenuePath::Paper(key) => {
            cached(&state, format!("venue:paper:{key}"), &headers, async {
                let p = state.app.store.venue_paper(&key).await?.ok_or_else(|| not_stored(&key))?;
                let (related, related_note, reranked) = if p.arxiv_id.is_none() {
                    related_list(&state.app, &p, peer).await
                } else {
                    (Vec::new(), None, false)
                };
                // A lexical list given for want of this reader's rate is theirs alone: not kept for others.
                let fallback = p.arxiv_id.is_none() && !reranked && state.app.related.engine().is_some();
                let view = VenuePaperView::new(&p);
                let chrome = Chrome::new(view.title.clone());
                let page = html(PaperPage { chrome, p: view, related, related_note })?;
                Ok(if fallback { page.transient() } else { page })
            })
            .await
        }
        VenuePath::Summary(key) => {
            let lang = super::summary::parse_lang(q.get("lang").map(String::as_str))?;
            Ok(super::summary::summary_page(&state.app, &key.to_string(), lang).await)
        }
        VenuePath::LatestFeed => feed(&state, None, None, &headers).await,
        VenuePath::Conference { conference, year, feed: true } => feed(&state, Some(conference), year, &headers).await,
        VenuePath::Conference { conference, year, feed: false } => {
            let edition = resolve(&state.app, conference, year).await?;
            let track = q.get("track").map(|t| t.trim().to_string()).filter(|t| !t.is_empty());
            let page_no = params::whole("page", q.get("page").map(String::as_str))?.unwrap_or(1).max(1);
            let order = Order::read(&q)?;
            if order.is_for_you() {
                // Personal: never in the shared page cache, never cached by the browser or a proxy.
                let page = listing(&state, edition, track, page_no, &order, peer).await?;
                let page = Page { cache_control: "private, no-store", ..page };
                return Ok(page.respond(&headers));
            }
            let key = format!("venue:{edition}|{}|{page_no}", track.as_deref().unwrap_or(""));
            cached(&state, key, &headers, listing(&state, edition, track, page_no, &order, peer)).await
        }
    }
}

/// The arXiv papers most related to a venue paper without an arXiv version: the related pipeline on its text
/// (lexical candidates reranked by the cross-encoder when one is loaded, within the per-client rate), with the
/// note to show and whether it is reranked. A failure leaves the list empty (logged).
async fn related_list(
    app: &App,
    p: &StoredVenuePaper,
    client: Option<std::net::IpAddr>,
) -> (Vec<RelatedLink>, Option<String>, bool) {
    if p.abstract_text.is_empty() {
        return (Vec::new(), None, false);
    }
    let text = crate::store::PaperText::from(p);
    match app.related.view_text(&text, client).await {
        Ok(view) => (
            view.related
                .into_iter()
                .map(|r| RelatedLink { title_html: text::rich(&r.title, &[]), id: r.id, source: r.source })
                .collect(),
            view.note,
            view.reranked,
        ),
        Err(e) => {
            tracing::warn!(key = %p.key, "related arXiv papers of a venue paper: {e}");
            (Vec::new(), None, false)
        }
    }
}

fn not_stored(key: &PaperKey) -> WebError {
    WebError::not_found(format!("{key} is not in this Papertide's store (ingest its venue first)."))
}

/// The edition a path names: the year given, else the conference's newest stored edition.
async fn resolve(app: &App, conference: Conference, year: Option<u16>) -> Result<Edition, WebError> {
    if let Some(year) = year {
        return Ok(Edition::new(conference, year));
    }
    let editions = app.store.venue_editions().await?;
    editions
        .into_iter()
        .map(|e| e.edition)
        .filter(|e| e.conference == conference)
        .max_by_key(|e| e.year)
        .ok_or_else(|| WebError::not_found(format!("No {conference} edition is stored yet; see /venue for what is.")))
}

/// Most papers of one edition For you orders (a main conference has a few thousand).
const FOR_YOU_POOL: i64 = 10_000;

async fn listing(
    state: &WebState,
    edition: Edition,
    track: Option<String>,
    page_no: usize,
    order: &Order,
    client: Option<std::net::IpAddr>,
) -> Result<Page, WebError> {
    let app = &state.app;
    let offset = (page_no - 1).saturating_mul(PAGE);
    let mut order_note = None;
    let mut why = HashMap::new();
    let (papers, total) = match order {
        Order::ForYou(interests) => {
            let (all, total) = app.store.venue_listing(&edition, track.as_deref(), FOR_YOU_POOL, 0).await?;
            let keys: Vec<String> = all.iter().map(|p| p.key.to_string()).collect();
            let ranked = super::foryou::rank_with(state, keys, interests, client, "the listing's order").await?;
            order_note = Some(ranked.note);
            why = ranked.why;
            let window: Vec<String> = ranked.ids.into_iter().skip(offset).take(PAGE).collect();
            let mut by_key: HashMap<String, StoredVenuePaper> =
                all.into_iter().map(|p| (p.key.to_string(), p)).collect();
            (window.iter().filter_map(|k| by_key.remove(k)).collect::<Vec<_>>(), total)
        }
        Order::Default => app.store.venue_listing(&edition, track.as_deref(), PAGE as i64, offset as i64).await?,
    };
    let all = app.store.venue_tracks(&edition).await?;
    if all.is_empty() {
        return Err(WebError::not_found(format!("{edition} is not stored; see /venue for the editions that are.")));
    }
    let base = format!("/venue/{edition}");
    let url = |t: Option<&str>, page: usize| {
        let mut u = base.clone();
        let mut sep = '?';
        if let Some(t) = t {
            u.push_str(&format!("{sep}track={}", percent_encode(t)));
            sep = '&';
        }
        if page > 1 {
            u.push_str(&format!("{sep}page={page}"));
        }
        u
    };
    let tracks = all
        .into_iter()
        .map(|t| {
            let u = url(t.track.as_deref(), 1);
            let on = t.track.is_some() && t.track == track;
            (t, u, on)
        })
        .collect();
    let shown_from = if papers.is_empty() { 0 } else { offset + 1 };
    let shown_to = offset + papers.len();
    // Paging keeps the For-you order (and its interests).
    let oq = order.query();
    let with_order = |u: String| match (oq.is_empty(), u.contains('?')) {
        (true, _) => u,
        (false, true) => format!("{u}{oq}"),
        (false, false) => format!("{u}?{}", oq.trim_start_matches('&')),
    };
    let prev_page = (page_no > 1).then(|| with_order(url(track.as_deref(), page_no - 1)));
    let next_page = ((shown_to as i64) < total).then(|| with_order(url(track.as_deref(), page_no + 1)));
    let first = url(track.as_deref(), 1);
    let order_base = if first.contains('?') { format!("{first}&") } else { format!("{first}?") };
    let hidden: Vec<(String, String)> = track.iter().map(|t| ("track".to_string(), t.clone())).collect();
    let order_control =
        super::foryou::OrderControl::new(order, "Listing order", &order_base, &base, hidden, order_note);
    let title = match &track {
        Some(t) => format!("{} {} · {t}", edition.conference, edition.year),
        None => format!("{} {}", edition.conference, edition.year),
    };
    let chrome = Chrome::new(title).with_feed(format!("Papertide: {edition}"), format!("{base}/feed"));
    html(ListingPage {
        chrome,
        all_url: base.clone(),
        tracks,
        total,
        shown_from,
        shown_to,
        prev_page,
        next_page,
        papers: papers
            .iter()
            .map(|p| VenuePaperView { why: why.remove(&p.key.to_string()), ..VenuePaperView::new(p) })
            .collect(),
        edition,
        order: order_control,
    })
}

/// A venue feed: one conference (one edition when the year is given), or every venue.
async fn feed(
    state: &WebState,
    conference: Option<Conference>,
    year: Option<u16>,
    headers: &HeaderMap,
) -> Result<Response, WebError> {
    let name = match (&conference, year) {
        (Some(c), Some(y)) => format!("{c}.{y}"),
        (Some(c), None) => c.to_string(),
        (None, _) => "latest".to_string(),
    };
    cached(state, format!("venuefeed:{name}"), headers, async {
        let mut papers = state.app.store.venue_latest(conference.as_ref(), FEED_ITEMS * 4).await?;
        if let Some(y) = year {
            papers.retain(|p| p.edition.year == y);
        }
        papers.truncate(FEED_ITEMS as usize);
        let base = state.app.config.public_url();
        let (title, link, description) = match &conference {
            Some(_) => (
                format!("Papertide: {name}"),
                format!("{base}/venue/{name}"),
                format!("The newest papers of {} in Papertide", name.replace('.', " ")),
            ),
            None => (
                "Papertide: newest venue papers".to_string(),
                format!("{base}/venue"),
                "The newest conference papers in Papertide, every venue".to_string(),
            ),
        };
        let date = papers.iter().filter_map(|p| p.published).max();
        let mut ch = Channel::new(title, link, format!("{base}/venue/{name}/feed"), description, date);
        for p in &papers {
            let mut description = p.abstract_text.clone();
            if let Some(id) = &p.arxiv_id {
                description = format!("[also arXiv {id}] {description}");
            }
            ch.push_item(super::feeds::Item {
                title: xml_chars(&p.title),
                link: format!("{base}/venue/paper/{}", p.key),
                description: xml_chars(&description),
                guid: p.key.to_string(),
                date: p.published.map(super::feeds::rfc822),
                categories: std::iter::once(format!("{} {}", p.edition.conference, p.edition.year))
                    .chain(p.track.clone())
                    .map(|c| xml_chars(&c))
                    .collect(),
                creator: xml_chars(&p.authors.join(", ")),
            });
        }
        ch.render_page()
    })
    .await
}

/// `GET /api/venue`: the stored editions.
pub(super) async fn api_index(State(app): State<App>) -> Result<Json<Value>, WebError> {
    let editions = app.store.venue_editions().await?;
    let followed: Vec<String> = app.config.venues.follow.iter().map(ToString::to_string).collect();
    Ok(Json(json!({ "editions": editions, "followed": followed })))
}

/// `GET /api/venue/{*rest}`: an edition's listing (`?track=`, `?page=`) or a venue paper, as JSON.
pub(super) async fn api(
    State(app): State<App>,
    Path(rest): Path<String>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Json<Value>, WebError> {
    let Query(q) = query.map_err(|_| WebError::bad_request("The query string could not be read."))?;
    let internal = |e: serde_json::Error| WebError::Internal(e.to_string());
    match parse(&rest)? {
        VenuePath::Paper(key) => {
            let p = app.store.venue_paper(&key).await?.ok_or_else(|| not_stored(&key))?;
            Ok(Json(serde_json::to_value(p).map_err(internal)?))
        }
        VenuePath::Conference { conference, year, feed: false } => {
            let edition = resolve(&app, conference, year).await?;
            let track = q.get("track").map(|t| t.trim().to_string()).filter(|t| !t.is_empty());
            let page_no = params::whole("page", q.get("page").map(String::as_str))?.unwrap_or(1).max(1);
            let offset = (page_no - 1).saturating_mul(PAGE) as i64;
            let (papers, total) = app.store.venue_listing(&edition, track.as_deref(), PAGE as i64, offset).await?;
            let tracks = app.store.venue_tracks(&edition).await?;
            Ok(Json(json!({
                "edition": edition.to_string(),
                "track": track,
                "page": page_no,
                "total": total,
                "tracks": tracks,
                "papers": serde_json::to_value(papers).map_err(internal)?,
            })))
        }
        VenuePath::Summary(key) => Err(WebError::not_found(format!(
            "A summary is a stream: /api/papers/{key}/summary, or the page /venue/paper/{key}/summary."
        ))),
        VenuePath::Conference { feed: true, .. } | VenuePath::LatestFeed => {
            Err(WebError::not_found("Feeds are RSS, not JSON: drop /api from the address."))
        }
    }
}

/// The venue badges of the arXiv papers `ids` that have a venue version, by arXiv id (one store read).
pub(super) async fn badges_for(app: &App, ids: &[String]) -> HashMap<String, Vec<super::views::VenueBadge>> {
    let parsed: Vec<crate::domain::ArxivId> =
        ids.iter().filter_map(|id| crate::domain::ArxivId::parse(id).ok()).collect();
    let mut out: HashMap<String, Vec<super::views::VenueBadge>> = HashMap::new();
    if parsed.is_empty() {
        return out;
    }
    let refs: Vec<&crate::domain::ArxivId> = parsed.iter().collect();
    // Badges are an extra: a store error here is logged and the page renders without them.
    let found = match app.store.venues_of_arxiv(&refs).await {
        Ok(found) => found,
        Err(e) => {
            tracing::warn!("venue badges: {e}");
            return out;
        }
    };
    for v in found {
        let Some(id) = v.arxiv_id.as_ref() else { continue };
        let label = match &v.track {
            Some(t) => format!("{} {} ({t})", v.edition.conference, v.edition.year),
            None => format!("{} {}", v.edition.conference, v.edition.year),
        };
        out.entry(id.to_string())
            .or_default()
            .push(super::views::VenueBadge { label, url: format!("/venue/paper/{}", v.key) });
    }
    out
}

/// Fills in the venue badges of the arXiv papers a page shows.
pub(super) async fn add_badges(app: &App, views: &mut [super::views::PaperView]) {
    let ids: Vec<String> = views.iter().map(|v| v.id.clone()).collect();
    let mut badges = badges_for(app, &ids).await;
    for view in views.iter_mut() {
        view.venues = badges.remove(&view.id).unwrap_or_default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn venue_paths_parse() {
        assert_eq!(parse("latest/feed").unwrap(), VenuePath::LatestFeed);
        assert!(matches!(
            parse("ICLR.2025").unwrap(),
            VenuePath::Conference { conference, year: Some(2025), feed: false } if conference.as_str() == "ICLR"
        ));
        assert!(matches!(parse("neurips/feed").unwrap(), VenuePath::Conference { year: None, feed: true, .. }));
        assert!(matches!(parse("paper/pmlr:v235/smith24a").unwrap(), VenuePath::Paper(_)));
        assert!(matches!(parse("paper/pmlr:v235/smith24a/summary").unwrap(), VenuePath::Summary(_)));
        assert!(matches!(parse("paper/acl:2024.acl-long.1/summary").unwrap(), VenuePath::Summary(_)));
        assert!(matches!(parse("paper/pmlr:v235/summary").unwrap(), VenuePath::Paper(_)), "a paper named summary");
        assert_eq!(parse("paper/2406.01234").unwrap_err().status().as_u16(), 404);
        assert_eq!(parse("paper/acl:../x").unwrap_err().status().as_u16(), 400);
        assert_eq!(parse("latest").unwrap_err().status().as_u16(), 404);
        assert_eq!(parse("ICLR.2025/x/y").unwrap_err().status().as_u16(), 404);
        assert_eq!(parse("<b>").unwrap_err().status().as_u16(), 400);
        // Multi-byte characters near the end are a bad request, not a panic on a char boundary.
        for bad in ["ICLé", "xé12", "ICLR.20é"] {
            assert_eq!(parse(bad).unwrap_err().status().as_u16(), 400, "{bad}");
        }
    }
}

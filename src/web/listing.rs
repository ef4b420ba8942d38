//! The daily listing page: one announcement day of a category expression, in sections, paged.

use std::collections::HashMap;

use askama::Template;
use axum::http::HeaderMap;
use axum::response::Response;
use chrono::NaiveDate;

use super::cache::{Page, cached};
use super::foryou::{self, Order, OrderControl, Ranked};
use super::views::{Chrome, PaperView};
use super::{WebError, WebState};
use crate::domain::AnnounceKind;
use crate::store::{CategoryFilter, ListingEntry, StoredPaper};

pub const DEFAULT_SHOW: usize = 25;
/// Pages at least this long render on the blocking pool, not on an async worker.
const BLOCKING_RENDER: usize = 100;

/// A listing's sections in page order.
pub const SECTIONS: [(&str, &str); 3] =
    [("New submissions", "new"), ("Cross-lists", "cross"), ("Replacements", "replace")];

pub fn section_of(k: AnnounceKind) -> usize {
    match k {
        AnnounceKind::New => 0,
        AnnounceKind::Cross => 1,
        AnnounceKind::Replace | AnnounceKind::ReplaceCross => 2,
    }
}

/// A day's listing, resolved: the day shown, its neighbours, and its entries in section order.
pub struct Day {
    pub date: Option<NaiveDate>,
    pub days: Vec<NaiveDate>,
    pub prev: Option<NaiveDate>,
    pub next: Option<NaiveDate>,
    pub entries: Vec<ListingEntry>,
    pub section_totals: [usize; 3],
}

/// `?skip=&show=`: `show` is a number or `all`.
#[derive(Debug, Clone, Copy)]
pub struct Paging {
    pub skip: usize,
    pub show: Option<usize>,
}

impl Paging {
    /// The positions this page shows of `len` entries (empty past the end).
    pub fn window(&self, len: usize) -> std::ops::Range<usize> {
        let end = self.show.map_or(len, |n| self.skip.saturating_add(n).min(len));
        self.skip.min(end)..end
    }
}

pub fn parse_date(params: &HashMap<String, String>) -> Result<Option<NaiveDate>, WebError> {
    super::params::day("date", params.get("date").map(String::as_str))
}

pub fn parse_paging(params: &HashMap<String, String>) -> Result<Paging, WebError> {
    let skip = super::params::whole("skip", params.get("skip").map(String::as_str))?.unwrap_or(0);
    let show = match params.get("show").map(|s| s.trim()).filter(|s| !s.is_empty()) {
        None => Some(DEFAULT_SHOW),
        Some("all") => None,
        Some(s) => match s.parse::<usize>() {
            Ok(n) if (1..=2_000).contains(&n) => Some(n),
            _ => return Err(WebError::bad_request("show must be a number from 1 to 2000, or all.")),
        },
    };
    Ok(Paging { skip, show })
}

/// Loads the day asked for (or the latest) of `filter`.
pub async fn load_day(state: &WebState, filter: &CategoryFilter, date: Option<NaiveDate>) -> Result<Day, WebError> {
    let days = state.app.store.listing_days(&filter.include).await?;
    let date = date.or_else(|| days.first().copied());
    let mut entries = match date {
        Some(d) => state.app.store.filtered_listing(filter, d).await?,
        None => Vec::new(),
    };
    // Sections in page order, arXiv's id order within each.
    entries.sort_by(|a, b| section_of(a.kind).cmp(&section_of(b.kind)).then_with(|| a.id.cmp(&b.id)));
    let mut section_totals = [0; 3];
    for e in &entries {
        section_totals[section_of(e.kind)] += 1;
    }
    // `days` is newest first: the previous day is the next older one.
    let (prev, next) = match date {
        Some(d) => (days.iter().find(|x| **x < d).copied(), days.iter().rev().find(|x| **x > d).copied()),
        None => (None, None),
    };
    Ok(Day { date, days, prev, next, entries, section_totals })
}

struct SectionLink {
    name: &'static str,
    total: usize,
    url: String,
}

struct Section {
    name: &'static str,
    anchor: &'static str,
    total: usize,
    papers: Vec<PaperView>,
}

#[derive(Template)]
#[template(path = "listing.html")]
struct ListingPage {
    chrome: Chrome,
    heading: String,
    expr: String,
    excluded: String,
    date: Option<NaiveDate>,
    prev_url: Option<String>,
    next_url: Option<String>,
    days: Vec<(String, bool)>,
    total: usize,
    summary: Vec<SectionLink>,
    sections: Vec<Section>,
    show: usize,
    shown_from: usize,
    shown_to: usize,
    prev_page: Option<String>,
    next_page: Option<String>,
    all_url: Option<String>,
    order: OrderControl,
}

pub(super) async fn page(
    state: &WebState,
    filter: CategoryFilter,
    params: &HashMap<String, String>,
    headers: &HeaderMap,
    client: Option<std::net::IpAddr>,
) -> Result<Response, WebError> {
    let date = parse_date(params)?;
    let paging = parse_paging(params)?;
    let expr = filter.to_string();
    let order = Order::read(params)?;
    let translate = state.app.llm.is_some();
    if let Order::ForYou(interests) = &order {
        // Personal: never in the shared page cache, never cached by the browser or a proxy.
        let day = load_day(state, &filter, date).await?;
        let ids: Vec<String> = day.entries.iter().map(|e| e.id.to_string()).collect();
        let ranked = foryou::rank(state, ids, interests, client).await?;
        let std::ops::Range { start, end } = paging.window(ranked.ids.len());
        let papers = state.app.store.get_papers(&ranked.ids[start..end]).await?;
        let badges = super::venues::badges_for(&state.app, &ranked.ids[start..end]).await;
        let kinds: HashMap<String, AnnounceKind> = day.entries.iter().map(|e| (e.id.to_string(), e.kind)).collect();
        let render = move || {
            render(filter, expr, day, paging, (start, end), papers, kinds, badges, order, Some(ranked), translate)
        };
        let html =
            tokio::task::spawn_blocking(render).await.map_err(|e| super::WebError::Internal(e.to_string()))??;
        return Ok(Page::new(html, "text/html; charset=utf-8", "private, no-store").respond(headers));
    }
    let key = format!(
        "listing:{expr}?{}&{}&{}",
        date.map(|d| d.to_string()).unwrap_or_default(),
        paging.skip,
        paging.show.map_or("all".to_string(), |n| n.to_string())
    );
    cached(state, key, headers, async {
        let day = load_day(state, &filter, date).await?;
        let std::ops::Range { start, end } = paging.window(day.entries.len());
        let slice = &day.entries[start..end];
        let ids: Vec<String> = slice.iter().map(|e| e.id.to_string()).collect();
        let papers = state.app.store.get_papers(&ids).await?;
        let badges = super::venues::badges_for(&state.app, &ids).await;
        let kinds: HashMap<String, AnnounceKind> = slice.iter().map(|e| (e.id.to_string(), e.kind)).collect();
        let render = move || {
            render(filter, expr, day, paging, (start, end), papers, kinds, badges, Order::Default, None, translate)
        };
        let html = if end - start >= BLOCKING_RENDER {
            tokio::task::spawn_blocking(render).await.map_err(|e| super::WebError::Internal(e.to_string()))??
        } else {
            render()?
        };
        Ok(Page::new(html, "text/html; charset=utf-8", "public, max-age=60"))
    })
    .await
}

#[allow(clippy::too_many_arguments)]
fn render(
    filter: CategoryFilter,
    expr: String,
    day: Day,
    paging: Paging,
    (start, end): (usize, usize),
    papers: Vec<StoredPaper>,
    kinds: HashMap<String, AnnounceKind>,
    mut badges: HashMap<String, Vec<super::views::VenueBadge>>,
    order: Order,
    ranked: Option<Ranked>,
    translate: bool,
) -> Result<String, WebError> {
    let names: Vec<String> = filter.include.iter().map(|c| format!("{} ({})", c.display_name(), c.code())).collect();
    let heading = names.join(", ");
    let date_q = |d: NaiveDate| format!("/arxiv/{expr}?date={d}");
    // Pages of this order; the section links go to arXiv's order, where sections exist.
    let url_in = |skip: usize, show: Option<usize>, order_q: &str| {
        let mut u = format!("/arxiv/{expr}?");
        if let Some(d) = day.date {
            u.push_str(&format!("date={d}&"));
        }
        u.push_str(&format!("skip={skip}&show={}", show.map_or("all".into(), |n| n.to_string())));
        u.push_str(order_q);
        u
    };
    let order_q = order.query();
    let page_url = |skip: usize, show: Option<usize>| url_in(skip, show, &order_q);
    let total = day.entries.len();
    let mut sections: Vec<Section> = SECTIONS
        .iter()
        .enumerate()
        .map(|(i, (name, anchor))| Section { name, anchor, total: day.section_totals[i], papers: Vec::new() })
        .collect();
    let mut order_note = None;
    match ranked {
        // One list across the day's sections, best first, each with its reason.
        Some(mut r) => {
            let papers = papers
                .iter()
                .map(|p| {
                    let kind = kinds.get(p.id.as_str()).copied().unwrap_or(AnnounceKind::New);
                    PaperView::new(p, Some(kind), &[]).with_why(r.why.remove(p.id.as_str()))
                })
                .collect();
            sections = vec![Section { name: "For you", anchor: "foryou", total, papers }];
            order_note = Some(r.note);
        }
        None => {
            for p in &papers {
                let kind = kinds.get(p.id.as_str()).copied().unwrap_or(AnnounceKind::New);
                sections[section_of(kind)].papers.push(PaperView::new(p, Some(kind), &[]));
            }
        }
    }
    let mut offset = 0;
    let summary = SECTIONS
        .iter()
        .enumerate()
        .map(|(i, (name, anchor))| {
            let link = SectionLink {
                name,
                total: day.section_totals[i],
                url: format!("{}#{anchor}", url_in(offset, paging.show, "")),
            };
            offset += day.section_totals[i];
            link
        })
        .collect();
    sections.retain(|s| !s.papers.is_empty());
    for view in sections.iter_mut().flat_map(|s| s.papers.iter_mut()) {
        view.venues = badges.remove(&view.id).unwrap_or_default();
    }
    let show = paging.show.unwrap_or(total);
    let mut base = format!("/arxiv/{expr}?");
    let mut hidden = Vec::new();
    if let Some(d) = day.date {
        base.push_str(&format!("date={d}&"));
        hidden.push(("date".to_string(), d.to_string()));
    }
    let order_control = OrderControl::new(&order, "arXiv order", &base, &format!("/arxiv/{expr}"), hidden, order_note);
    let title = match day.date {
        Some(d) => format!("{expr} on {d}"),
        None => expr.clone(),
    };
    let page = ListingPage {
        chrome: Chrome::new(title)
            .with_feed(format!("Papertide: {expr}"), format!("/arxiv/{expr}/feed"))
            .with_translate(translate),
        heading,
        excluded: filter.exclude.iter().map(|c| c.code()).collect::<Vec<_>>().join(", "),
        date: day.date,
        prev_url: day.prev.map(date_q),
        next_url: day.next.map(date_q),
        days: day.days.iter().map(|d| (d.to_string(), Some(*d) == day.date)).collect(),
        total,
        summary,
        sections,
        show,
        shown_from: if end > start { start + 1 } else { 0 },
        shown_to: end,
        prev_page: (start > 0).then(|| page_url(start.saturating_sub(show), paging.show)),
        next_page: (end < total).then(|| page_url(end, paging.show)),
        all_url: (paging.show.is_some() && total > show).then(|| page_url(0, None)),
        order: order_control,
        expr,
    };
    page.render().map_err(super::error::render_error)
}

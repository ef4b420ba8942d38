//! "For you" order of listings and search results: `?order=foryou&stars=2501.01234,…&prefer=term,…`.
//!
//! The reader's stars and preference terms live in their browser; they reach the server only in the request
//! that orders a page (a link, so the order can be shared), and are never stored: such pages skip the page
//! cache (`Cache-Control: private, no-store`), and request logs carry paths without query strings
//! (`web::mod`). The scoring is [`crate::related::affinity`], on the blocking pool, under a concurrency cap and a
//! per-client rate limit like the other CPU-costly paths.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use tokio::sync::Semaphore;

use super::views::percent_encode;
use super::{WebError, WebState};
use crate::domain::ArxivId;
use crate::net::limits::RateLimiter;
use crate::related::affinity::{self, Prefer, Weights};

/// Most starred papers a request may name (about 2,400 characters of ids, within the 4 KiB address limit).
pub const MAX_STARS: usize = 200;
/// Most preference terms, and the longest one.
pub const MAX_PREFER: usize = 50;
const MAX_TERM_CHARS: usize = 80;
/// Orderings running at once (each is a few tens of milliseconds of one core); others wait their turn.
const MAX_CONCURRENT: usize = 2;
/// How long a request waits for a turn before the page says the server is busy.
const MAX_WAIT: Duration = Duration::from_secs(10);
/// Orderings per client per minute (a reader pages and switches days; a script hammering it is refused).
const PER_CLIENT_PER_MINUTE: u32 = 120;

/// The concurrency cap and rate limit of the ordering.
#[derive(Clone)]
pub struct ForYou {
    permits: Arc<Semaphore>,
    limiter: Arc<RateLimiter>,
}

impl Default for ForYou {
    fn default() -> Self {
        ForYou {
            permits: Arc::new(Semaphore::new(MAX_CONCURRENT)),
            limiter: Arc::new(RateLimiter::new(PER_CLIENT_PER_MINUTE)),
        }
    }
}

/// The order a listing or search page was asked for.
#[derive(Debug, Clone, PartialEq)]
pub enum Order {
    /// arXiv's order (listings) or the search's own (relevance or date).
    Default,
    ForYou(Interests),
}

/// What "For you" ranks by, as the request named it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Interests {
    pub stars: Vec<ArxivId>,
    pub prefer: Vec<Prefer>,
    /// Star ids that were not arXiv ids (skipped, and said so on the page).
    pub bad_stars: usize,
}

impl Order {
    /// Reads `order`, `stars` and `prefer`. Stars and terms are comma-separated; bad ids are skipped and
    /// counted, too many of either is a message.
    pub fn read(params: &HashMap<String, String>) -> Result<Order, WebError> {
        match params.get("order").map(|s| s.trim()).unwrap_or("") {
            "" | "arxiv" | "default" => return Ok(Order::Default),
            "foryou" => {}
            _ => return Err(WebError::bad_request("order must be arxiv or foryou.")),
        }
        let mut interests = Interests::default();
        let mut seen = HashSet::new();
        for s in params.get("stars").map(String::as_str).unwrap_or("").split(',').map(str::trim) {
            if s.is_empty() {
                continue;
            }
            match ArxivId::parse(s) {
                Ok(id) if seen.insert(id.as_str().to_string()) => interests.stars.push(id),
                Ok(_) => {}
                Err(_) => interests.bad_stars += 1,
            }
        }
        if interests.stars.len() > MAX_STARS {
            return Err(WebError::bad_request(format!(
                "For you ranks by at most {MAX_STARS} starred papers; this link names {}.",
                interests.stars.len()
            )));
        }
        for t in params.get("prefer").map(String::as_str).unwrap_or("").split(',') {
            if t.trim().chars().count() > MAX_TERM_CHARS {
                return Err(WebError::bad_request(format!(
                    "A preference term may be at most {MAX_TERM_CHARS} characters."
                )));
            }
            if let Some(p) = Prefer::new(t)
                && !interests.prefer.iter().any(|q| q.needle() == p.needle())
            {
                interests.prefer.push(p);
            }
        }
        if interests.prefer.len() > MAX_PREFER {
            return Err(WebError::bad_request(format!("For you takes at most {MAX_PREFER} preference terms.")));
        }
        Ok(Order::ForYou(interests))
    }

    /// The query-string part that keeps this order in links (`&order=foryou&stars=…&prefer=…`, or nothing).
    pub fn query(&self) -> String {
        match self {
            Order::Default => String::new(),
            Order::ForYou(i) => {
                let stars: Vec<&str> = i.stars.iter().map(ArxivId::as_str).collect();
                let prefer: Vec<&str> = i.prefer.iter().map(|p| p.shown.as_str()).collect();
                let mut q = "&order=foryou".to_string();
                if !stars.is_empty() {
                    q.push_str(&format!("&stars={}", percent_encode(&stars.join(","))));
                }
                if !prefer.is_empty() {
                    q.push_str(&format!("&prefer={}", percent_encode(&prefer.join(","))));
                }
                q
            }
        }
    }

    pub fn is_for_you(&self) -> bool {
        matches!(self, Order::ForYou(_))
    }

    /// The preference terms as typed, comma-separated (the no-script form's value).
    pub fn prefer_text(&self) -> String {
        match self {
            Order::Default => String::new(),
            Order::ForYou(i) => i.prefer.iter().map(|p| p.shown.as_str()).collect::<Vec<_>>().join(", "),
        }
    }
}

/// The order control above a listing or search (templates/order.html).
pub struct OrderControl {
    pub for_you: bool,
    /// "arXiv order" on listings, "Search order" on search.
    pub default_name: &'static str,
    pub default_url: String,
    /// The For-you link without interests: the script adds the reader's stars and terms to it.
    pub foryou_url: String,
    /// The no-script form: where it goes, the fields it keeps, and the terms in use.
    pub action: String,
    pub hidden: Vec<(String, String)>,
    pub prefer: String,
    pub note: Option<String>,
}

impl OrderControl {
    /// `base` is the page's address with its other parameters and a trailing `?` or `&`; `hidden` the same
    /// parameters for the form; `note` what the order was based on.
    pub fn new(
        order: &Order,
        default_name: &'static str,
        base: &str,
        action: &str,
        hidden: Vec<(String, String)>,
        note: Option<String>,
    ) -> Self {
        let mut hidden = hidden;
        if let Order::ForYou(i) = order
            && !i.stars.is_empty()
        {
            hidden.push(("stars".into(), i.stars.iter().map(ArxivId::as_str).collect::<Vec<_>>().join(",")));
        }
        OrderControl {
            for_you: order.is_for_you(),
            default_name,
            default_url: base.trim_end_matches(['?', '&']).to_string(),
            foryou_url: format!("{base}order=foryou"),
            action: action.to_string(),
            hidden,
            prefer: order.prefer_text(),
            note,
        }
    }
}

/// A page's papers in For-you order, with the reason for each.
pub struct Ranked {
    pub ids: Vec<String>,
    /// Paper id → "Close to your starred “…” · mentions diffusion, graph".
    pub why: HashMap<String, String>,
    /// Said above the list (what the order is based on, stars this server does not hold).
    pub note: String,
}

/// Orders `ids` (the whole result, in its default order) by `interests`.
pub async fn rank(
    state: &WebState,
    ids: Vec<String>,
    interests: &Interests,
    client: Option<IpAddr>,
) -> Result<Ranked, WebError> {
    rank_with(state, ids, interests, client, "arXiv's order").await
}

/// [`rank`] for a page whose default order is not arXiv's (`default_order` names it in the note), and whose
/// papers may be venue papers: their texts come from the venue store when `ids` are venue keys.
pub async fn rank_with(
    state: &WebState,
    ids: Vec<String>,
    interests: &Interests,
    client: Option<IpAddr>,
    default_order: &str,
) -> Result<Ranked, WebError> {
    let star_ids: Vec<String> = interests.stars.iter().map(|s| s.as_str().to_string()).collect();
    // In the order the reader starred them, so "closest" ties name the earlier star.
    let stars = state.app.store.paper_texts(&star_ids).await?;
    let mut note = match (stars.len(), interests.prefer.len()) {
        (0, 0) => format!("Star papers or add preference keywords to order by interest; this is {default_order}."),
        (s, p) => format!(
            "Ordered by closeness to {s} starred paper{} and {p} preference term{}.",
            if s == 1 { "" } else { "s" },
            if p == 1 { "" } else { "s" }
        ),
    };
    let missing = star_ids.len() - stars.len() + interests.bad_stars;
    if missing > 0 {
        note.push_str(&format!(
            " {missing} of your starred papers {} not on this server and did not count.",
            if missing == 1 { "is" } else { "are" }
        ));
    }
    if stars.is_empty() && interests.prefer.is_empty() {
        return Ok(Ranked { ids, why: HashMap::new(), note });
    }
    if let Some(ip) = client
        && let Err(wait) = state.foryou.limiter.check(ip)
    {
        return Err(WebError::new(
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "Too many For-you orderings from your address in the last minute (limit {PER_CLIENT_PER_MINUTE}); \
                 try again in {} s.",
                wait.as_secs()
            ),
        ));
    }
    let _permit = tokio::time::timeout(MAX_WAIT, state.foryou.permits.clone().acquire_owned())
        .await
        .map_err(|_| {
            WebError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "The server is busy ordering pages for other readers; try again in a few seconds.",
            )
        })?
        .map_err(|e| WebError::Internal(e.to_string()))?;
    // In the result's default order, which ties keep.
    let papers = if ids.iter().any(|id| id.contains(':')) {
        venue_texts(state, &ids).await?
    } else {
        state.app.store.paper_texts(&ids).await?
    };
    let lexicon = state.app.related.lexicon().clone();
    let prefer = interests.prefer.clone();
    tokio::task::spawn_blocking(move || {
        let guard = lexicon.read().unwrap_or_else(|e| e.into_inner());
        let texts: Vec<(&str, &str)> = papers.iter().map(|p| (p.title.as_str(), p.abstract_text.as_str())).collect();
        let star_texts: Vec<(&str, &str)> =
            stars.iter().map(|p| (p.title.as_str(), p.abstract_text.as_str())).collect();
        let affs = affinity::score_papers(guard.as_ref(), &texts, &star_texts, &prefer, Weights::default());
        let mut why = HashMap::new();
        for (p, a) in papers.iter().zip(&affs) {
            let mut parts = Vec::new();
            if let Some((s, _)) = a.star {
                parts.push(format!("Close to your starred “{}”", crate::domain::capped(&stars[s].title, 200)));
            }
            if !a.matched.is_empty() {
                let terms: Vec<&str> = a.matched.iter().map(|&m| prefer[m].shown.as_str()).collect();
                parts.push(format!("mentions {}", terms.join(", ")));
            }
            if !parts.is_empty() {
                why.insert(p.id.clone(), parts.join(" · "));
            }
        }
        let ids = affinity::order(&affs).into_iter().map(|i| papers[i].id.clone()).collect();
        Ranked { ids, why, note }
    })
    .await
    .map_err(|e| WebError::Internal(e.to_string()))
}

/// The texts of venue papers (`acl:…` keys), in the order of `keys`, as For you reads them.
async fn venue_texts(state: &WebState, keys: &[String]) -> Result<Vec<crate::store::PaperText>, WebError> {
    Ok(state.app.store.venue_papers(keys).await?.iter().map(crate::store::PaperText::from).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn reads_the_order_and_keeps_it_in_links() {
        assert_eq!(Order::read(&params(&[])).unwrap(), Order::Default);
        assert_eq!(Order::read(&params(&[("order", "arxiv")])).unwrap(), Order::Default);
        assert!(Order::read(&params(&[("order", "best")])).is_err());
        let o = Order::read(&params(&[
            ("order", "foryou"),
            ("stars", "2501.00001, nonsense,2501.00001,hep-th/9901001v2"),
            ("prefer", "graph , ,diffusion model,Graph"),
        ]))
        .unwrap();
        let Order::ForYou(i) = &o else { panic!() };
        assert_eq!(i.stars.iter().map(ArxivId::as_str).collect::<Vec<_>>(), ["2501.00001", "hep-th/9901001"]);
        assert_eq!(i.bad_stars, 1);
        assert_eq!(i.prefer.iter().map(|p| p.shown.as_str()).collect::<Vec<_>>(), ["graph", "diffusion model"]);
        assert_eq!(o.query(), "&order=foryou&stars=2501.00001%2Chep-th%2F9901001&prefer=graph%2Cdiffusion%20model");
        assert_eq!(o.prefer_text(), "graph, diffusion model");
        let many: Vec<String> = (0..=MAX_STARS).map(|i| format!("2501.{i:05}")).collect();
        assert!(Order::read(&params(&[("order", "foryou"), ("stars", &many.join(","))])).is_err());
        let long = "x".repeat(MAX_TERM_CHARS + 1);
        assert!(Order::read(&params(&[("order", "foryou"), ("prefer", &long)])).is_err());
    }
}

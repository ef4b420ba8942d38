//! "For you" through the real router over a real store and index: a day's listing (all sections) and a
//! search ordered by starred papers and preference terms, the reasons shown, paging in that order, the
//! no-script form, personal pages kept out of every cache, and mistakes answered with a message.

mod support;

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use http_body_util::BodyExt;
use papertide::app::App;
use papertide::domain::AnnounceKind;
use support::papers::paper;
use tower::ServiceExt;

const DAY: &str = "2026-06-16";
const OLD: &str = "2026-06-01";

/// Starred earlier: one on protein structure, one on speech recognition.
const STAR_PROTEIN: &str = "2606.00010";
const STAR_SPEECH: &str = "2606.00011";

use support::papers::announcement as ann;

/// A day of 24 cs.LG papers: 20 on unrelated topics (new submissions, listed first in arXiv's order), then a
/// protein-folding paper and a speech paper as cross-lists, and one more of each as replacements, so the
/// papers a reader cares about are at the bottom of arXiv's order.
async fn app(build_lexicon: bool) -> (tempfile::TempDir, App) {
    let dir = tempfile::tempdir().unwrap();
    let app = App::open(support::config::loopback(dir.path())).await.unwrap();
    let fillers = [
        ("Traffic signal timing with queue models", "We schedule urban traffic lights from queue length estimates."),
        ("Auction design for cloud spot instances", "Pricing rules for spot markets of virtual machines and bids."),
        ("Compiler passes for sparse tensors", "Loop fusion and storage formats speed up sparse tensor kernels."),
        ("Bird migration routes from satellite tags", "Storks crossing the Mediterranean are tracked every autumn."),
        ("Fair division of indivisible goods", "Envy-freeness up to one good for additive valuations of agents."),
    ];
    let mut recs = Vec::new();
    let mut anns = Vec::new();
    for i in 0..20 {
        let (t, a) = fillers[i % fillers.len()];
        let id = format!("2606.{:05}", 100 + i);
        recs.push(paper(&id, format!("{t}, part {i}"), a, &["cs.LG"]));
        anns.push(ann(&id, "cs.LG", DAY, AnnounceKind::New));
    }
    let topical = [
        (
            "2606.00200",
            "Protein structure prediction with equivariant attention",
            "We predict protein structure from amino acid sequences with equivariant attention over residues and \
             evaluate folding accuracy on CASP targets.",
            AnnounceKind::Cross,
        ),
        (
            "2606.00201",
            "Streaming speech recognition with low latency transducers",
            "A transducer for streaming automatic speech recognition cuts word error rate and latency on \
             spoken audio benchmarks.",
            AnnounceKind::Cross,
        ),
        (
            "2606.00202",
            "Folding proteins from sequence alone",
            "Residue contact maps and amino acid sequences give protein structure; our folding model improves \
             CASP accuracy.",
            AnnounceKind::Replace,
        ),
        (
            "2606.00203",
            "Graph networks on citation data",
            "A graph neural network classifies papers of a citation graph; message passing over graph edges.",
            AnnounceKind::Replace,
        ),
    ];
    for (id, t, a, kind) in topical {
        recs.push(paper(id, t, a, &["q-bio.BM", "cs.LG"]));
        anns.push(ann(id, "cs.LG", DAY, kind));
    }
    recs.push(paper(
        STAR_PROTEIN,
        "Protein structure from amino acid sequences",
        "Predicting protein structure and folding from amino acid sequences of residues; CASP accuracy.",
        &["q-bio.BM"],
    ));
    anns.push(ann(STAR_PROTEIN, "q-bio.BM", OLD, AnnounceKind::New));
    recs.push(paper(
        STAR_SPEECH,
        "Automatic speech recognition for spoken audio",
        "End-to-end automatic speech recognition lowers word error rate on spoken audio with transducers.",
        &["eess.AS"],
    ));
    anns.push(ann(STAR_SPEECH, "eess.AS", OLD, AnnounceKind::New));
    app.store_batch(&recs, &anns, None).await.unwrap();
    app.commit_index().await.unwrap();
    if build_lexicon {
        app.related.build_lexicon().await.unwrap();
    }
    (dir, app)
}

async fn send(app: &App, uri: &str) -> (StatusCode, HeaderMap, String) {
    let req = Request::builder().uri(uri).body(Body::empty()).unwrap();
    let res = papertide::web::build_router(app.clone()).oneshot(req).await.unwrap();
    let status = res.status();
    let h = res.headers().clone();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (status, h, String::from_utf8_lossy(&bytes).into_owned())
}

/// The ids of the papers on a page, in page order.
fn ids(html: &str) -> Vec<String> {
    html.split("<article class=\"paper")
        .skip(1)
        .filter_map(|a| a.split("data-id=\"").nth(1).and_then(|s| s.split('"').next()).map(str::to_string))
        .collect()
}

/// The "why" line of one paper on a page.
fn why(html: &str, id: &str) -> Option<String> {
    let article = html.split(&format!("id=\"p-{id}\"")).nth(1)?.split("</article>").next()?;
    let line = article.split("<p class=\"why\">").nth(1)?.split("</p>").next()?;
    Some(line.to_string())
}

#[tokio::test]
async fn starred_papers_bring_their_neighbours_to_the_top_of_the_whole_day() {
    for lexicon in [false, true] {
        let (_d, app) = app(lexicon).await;
        let (s, h, plain) = send(&app, &format!("/arxiv/cs.LG?date={DAY}")).await;
        assert_eq!(s, StatusCode::OK);
        let arxiv_order = ids(&plain);
        assert_eq!(arxiv_order.len(), 24);
        assert!(arxiv_order[..20].iter().all(|id| id.as_str() < "2606.00200"), "fillers come first in arXiv order");
        assert!(plain.contains("class=\"order-foryou\"") && plain.contains("aria-current=\"true\">arXiv order"));
        assert!(h[header::CACHE_CONTROL].to_str().unwrap().starts_with("public"));

        let uri = format!("/arxiv/cs.LG?date={DAY}&order=foryou&stars={STAR_PROTEIN},{STAR_SPEECH}&show=3");
        let (s, h, page) = send(&app, &uri).await;
        assert_eq!(s, StatusCode::OK, "{page}");
        assert_eq!(h[header::CACHE_CONTROL], "private, no-store", "a personal page is never cached");
        let top = ids(&page);
        assert_eq!(top.len(), 3, "paged: {top:?}");
        let mut first: Vec<&str> = top.iter().map(String::as_str).collect();
        first.sort();
        assert_eq!(first, ["2606.00200", "2606.00201", "2606.00202"], "lexicon {lexicon}: the topical papers lead");
        assert!(page.contains("aria-current=\"true\" title=\"Your starred papers"), "For you is the current order");
        assert!(page.contains("Ordered by closeness to 2 starred papers and 0 preference terms."));
        assert!(page.contains(">For you <span class=\"section-count\">(24)</span>"), "one list across sections");
        let w = why(&page, "2606.00201").expect("a reason is shown");
        assert!(w.contains("Close to your starred “Automatic speech recognition for spoken audio”"), "{w}");
        assert!(why(&page, "2606.00200").unwrap().contains("Protein structure from amino acid sequences"));
        // The next page continues the same order and keeps it in its links.
        let pager = page.split("class=\"pager\"").nth(1).expect("a pager");
        let next = pager.split("rel=\"next\" href=\"").nth(1).expect("a next-page link").split('"').next().unwrap();
        let next = next.replace("&#38;", "&").replace("&amp;", "&");
        assert!(next.contains("order=foryou") && next.contains("stars=2606.00010%2C2606.00011"), "{next}");
        let (_, _, page2) = send(&app, &next).await;
        let second = ids(&page2);
        assert_eq!(second.len(), 3);
        assert!(second.iter().all(|id| !top.contains(id)), "{second:?} repeats {top:?}");
        // The whole day, once each.
        let (_, _, all) = send(&app, &format!("{uri}&show=all")).await;
        let mut every = ids(&all);
        every.sort();
        let mut expected = arxiv_order.clone();
        expected.sort();
        assert_eq!(every, expected);
        app.store.close().await;
    }
}

#[tokio::test]
async fn preference_terms_work_without_stars_or_script() {
    let (_d, app) = app(false).await;
    // The no-script form sends `prefer=` alone.
    let (s, _, page) =
        send(&app, &format!("/arxiv/cs.LG?date={DAY}&order=foryou&prefer=graph%2C+citation%2C+storks")).await;
    assert_eq!(s, StatusCode::OK);
    let order = ids(&page);
    assert_eq!(order[0], "2606.00203", "{order:?}");
    assert_eq!(why(&page, "2606.00203").unwrap(), "mentions graph, citation");
    assert!(why(&page, "2606.00103").unwrap().contains("mentions storks"));
    assert!(page.contains("value=\"graph, citation, storks\""), "the form shows the terms in use");
    // Neither stars nor terms: arXiv's order, said so.
    let (_, _, page) = send(&app, &format!("/arxiv/cs.LG?date={DAY}&order=foryou")).await;
    assert!(page.contains("this is arXiv&#39;s order") || page.contains("this is arXiv's order"), "{page}");
    let (_, _, plain) = send(&app, &format!("/arxiv/cs.LG?date={DAY}&show=all")).await;
    let (_, _, none) = send(&app, &format!("/arxiv/cs.LG?date={DAY}&order=foryou&show=all")).await;
    let mut sections_order = ids(&plain);
    let flat = ids(&none);
    assert_eq!(flat.len(), sections_order.len());
    sections_order.truncate(flat.len());
    assert_eq!(flat, sections_order, "no interests: arXiv's order unchanged");
    app.store.close().await;
}

#[tokio::test]
async fn stars_not_on_the_server_and_mistakes_are_said() {
    let (_d, app) = app(false).await;
    let uri = format!("/arxiv/cs.LG?date={DAY}&order=foryou&stars={STAR_SPEECH},2601.99999,not-an-id");
    let (s, _, page) = send(&app, &uri).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(ids(&page)[0], "2606.00201");
    assert!(page.contains("2 of your starred papers are not on this server and did not count."), "{page}");
    let (s, _, _) = send(&app, &format!("/arxiv/cs.LG?date={DAY}&order=best")).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let many: Vec<String> = (0..201).map(|i| format!("2601.{i:05}")).collect();
    let (s, _, page) = send(&app, &format!("/arxiv/cs.LG?order=foryou&stars={}", many.join(","))).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(page.contains("at most 200 starred papers"));
    let (s, _, page) = send(&app, "/arxiv/cs.LG?order=foryou&prefer=%3Cscript%3Ealert(1)%3C/script%3E").await;
    assert_eq!(s, StatusCode::OK);
    assert!(!page.contains("<script>alert(1)"), "terms are escaped");
    app.store.close().await;
}

#[tokio::test]
async fn search_results_in_for_you_order() {
    let (_d, app) = app(false).await;
    let (s, h, plain) = send(&app, "/arxiv/search?query=accuracy+OR+latency+OR+storks").await;
    assert_eq!(s, StatusCode::OK);
    assert!(h[header::CACHE_CONTROL].to_str().unwrap().starts_with("public"));
    let searched = ids(&plain);
    assert!(searched.len() >= 3, "{searched:?}");
    let (s, h, page) =
        send(&app, &format!("/arxiv/search?query=accuracy+OR+latency+OR+storks&order=foryou&stars={STAR_SPEECH}"))
            .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(h[header::CACHE_CONTROL], "private, no-store");
    let ranked = ids(&page);
    assert_eq!(ranked[0], "2606.00201", "{ranked:?}");
    let mut a = ranked.clone();
    let mut b = searched.clone();
    a.sort();
    b.sort();
    assert_eq!(a, b, "the same matches, reordered");
    assert!(why(&page, "2606.00201").unwrap().contains("Automatic speech recognition"));
    assert!(!page.contains("aria-current=\"true\">Search order"), "For you is the current order");
    app.store.close().await;
}

#[tokio::test]
async fn interests_never_reach_the_logs() {
    // A reader's stars and terms must appear in no log line, at any level.
    support::logs::capture();
    let (_d, app) = app(false).await;
    let uri = format!("/arxiv/cs.LG?date={DAY}&order=foryou&stars={STAR_SPEECH}&prefer=zanzibarite");
    let (s, _, _) = send(&app, &uri).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _, _) = send(&app, "/arxiv/search?query=accuracy&order=foryou&stars=2606.00010&prefer=quokkaism").await;
    assert_eq!(s, StatusCode::OK);
    let logs = support::logs::text();
    assert!(logs.contains("/arxiv/cs.LG"), "request spans are logged (by path): {logs}");
    for secret in [STAR_SPEECH, "2606.00010", "zanzibarite", "quokkaism", "order=foryou"] {
        assert!(!logs.contains(secret), "{secret} logged");
    }
    app.store.close().await;
}

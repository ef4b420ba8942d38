//! Reference-manager metadata, read back with an HTML parser (scraper, on html5ever, as a browser would parse
//! the page): a paper page's Highwire Press `citation_*` and Dublin Core `DC.*` meta tags (Zotero's Embedded
//! Metadata translator, Mendeley, Google Scholar), and one COinS span per paper on listing and search pages
//! (Zotero's COinS translator: multiple-item import). Hostile text survives as text, never as markup.

mod support;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::NaiveDate;
use http_body_util::BodyExt;
use papertide::app::App;
use papertide::domain::{AnnounceKind, Announcement, ArxivId, Category, PaperRecord};
use scraper::{Html, Selector};
use support::papers::paper;
use tower::ServiceExt;

const DAY: &str = "2026-06-16";
const HOSTILE: &str = "Attention & \"quotes\" <script>alert(1)</script> with $x^2$";

async fn app() -> (tempfile::TempDir, App) {
    let dir = tempfile::tempdir().unwrap();
    let app = App::open(support::config::loopback(dir.path())).await.unwrap();
    let day = NaiveDate::parse_from_str(DAY, "%Y-%m-%d").unwrap();
    let mut recs = vec![PaperRecord {
        authors: vec!["Grace Hopper".into(), "Alan Turing".into(), "Émilie du Châtelet".into()],
        doi: Some("10.1000/xyz-123".into()),
        submitted: Some("2026-06-14T17:59:59Z".parse().unwrap()),
        ..paper("2606.00100v2", HOSTILE, "We study attention & memory; see $\\alpha < \\beta$.", &["cs.LG", "cs.AI"])
    }];
    for i in 1..4 {
        recs.push(paper(&format!("2606.{:05}", 100 + i), format!("Plain paper {i}"), "An abstract.", &["cs.LG"]));
    }
    let anns: Vec<Announcement> = recs
        .iter()
        .map(|r| Announcement {
            date: day,
            category: Category::parse("cs.LG").unwrap(),
            id: ArxivId::parse(r.id.as_str()).unwrap(),
            kind: AnnounceKind::New,
        })
        .collect();
    app.store_batch(&recs, &anns, None).await.unwrap();
    app.commit_index().await.unwrap();
    (dir, app)
}

async fn page(app: &App, uri: &str) -> Html {
    let req = Request::builder().uri(uri).body(Body::empty()).unwrap();
    let res = papertide::web::build_router(app.clone()).oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK, "{uri}");
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    Html::parse_document(std::str::from_utf8(&bytes).unwrap())
}

fn metas(doc: &Html, name: &str) -> Vec<String> {
    let sel = Selector::parse(&format!("head meta[name=\"{name}\"]")).unwrap();
    doc.select(&sel).map(|m| m.value().attr("content").unwrap_or_default().to_string()).collect()
}

/// The key-value pairs of a COinS span's ContextObject, decoded.
fn kev(title: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(title.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

fn values(kev: &[(String, String)], key: &str) -> Vec<String> {
    kev.iter().filter(|(k, _)| k == key).map(|(_, v)| v.clone()).collect()
}

#[tokio::test]
async fn a_paper_page_carries_highwire_and_dublin_core_tags() {
    let (_d, app) = app().await;
    let doc = page(&app, "/arxiv/2606.00100").await;
    assert_eq!(metas(&doc, "citation_title"), [HOSTILE], "the title, as text, whatever it holds");
    assert_eq!(metas(&doc, "citation_author"), ["Grace Hopper", "Alan Turing", "Émilie du Châtelet"], "in order");
    assert_eq!(metas(&doc, "citation_publication_date"), ["2026/06/14"]);
    assert_eq!(metas(&doc, "citation_date"), ["2026/06/14"]);
    assert_eq!(metas(&doc, "citation_arxiv_id"), ["2606.00100"]);
    assert_eq!(metas(&doc, "citation_pdf_url"), ["https://arxiv.org/pdf/2606.00100v2"]);
    assert_eq!(metas(&doc, "citation_abstract_html_url"), ["https://arxiv.org/abs/2606.00100"]);
    assert_eq!(metas(&doc, "citation_abstract"), ["We study attention & memory; see $\\alpha < \\beta$."]);
    assert_eq!(metas(&doc, "citation_doi"), ["10.1000/xyz-123"]);
    assert_eq!(metas(&doc, "DC.title"), [HOSTILE]);
    assert_eq!(metas(&doc, "DC.creator").len(), 3);
    assert_eq!(metas(&doc, "DC.identifier"), ["arXiv:2606.00100"]);
    assert_eq!(metas(&doc, "DC.date"), ["2026-06-14"]);
    let scripts = Selector::parse("script:not([src])").unwrap();
    assert_eq!(doc.select(&scripts).count(), 0, "no inline script, hostile title included");
    // A page of several papers describes no single work: no citation tags (Zotero would take the first).
    let doc = page(&app, "/arxiv/2606.00100,2606.00101").await;
    assert!(metas(&doc, "citation_title").is_empty());
    app.store.close().await;
}

#[tokio::test]
async fn listings_and_search_expose_every_paper_as_coins() {
    let (_d, app) = app().await;
    for uri in [format!("/arxiv/cs.LG?date={DAY}"), "/arxiv/search?query=paper+OR+attention".to_string()] {
        let doc = page(&app, &uri).await;
        let articles = Selector::parse("article.paper").unwrap();
        let span = Selector::parse("span.Z3988").unwrap();
        let n = doc.select(&articles).count();
        assert!(n >= 2, "{uri}");
        assert_eq!(doc.select(&span).count(), n, "{uri}: one ContextObject per paper");
        for a in doc.select(&articles) {
            let id = a.value().attr("data-id").unwrap();
            let co = kev(a.select(&span).next().unwrap().value().attr("title").unwrap());
            assert_eq!(values(&co, "ctx_ver"), ["Z39.88-2004"]);
            assert_eq!(values(&co, "rft_val_fmt"), ["info:ofi/fmt:kev:mtx:journal"], "Zotero: journalArticle");
            assert_eq!(values(&co, "rft.genre"), ["preprint"]);
            assert!(values(&co, "rft_id").contains(&format!("info:arxiv/{id}")), "{co:?}");
            assert!(values(&co, "rft_id").contains(&format!("https://arxiv.org/abs/{id}")));
            if id == "2606.00100" {
                assert_eq!(values(&co, "rft.atitle"), [HOSTILE]);
                assert_eq!(values(&co, "rft.au"), ["Grace Hopper", "Alan Turing", "Émilie du Châtelet"]);
                assert_eq!(values(&co, "rft.date"), ["2026-06-14"]);
                assert!(values(&co, "rft_id").contains(&"info:doi/10.1000/xyz-123".to_string()));
            }
        }
    }
    app.store.close().await;
}

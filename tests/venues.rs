//! Venue ingest end to end against a fake server on 127.0.0.1: the real recorded ACL Anthology XML and PMLR
//! BibTeX (tests/fixtures/venues/PROVENANCE.md), OpenReview and CVF bodies written to their documentation (no
//! real recording could be found: see PROVENANCE.md), with faults injected; then the venue listing, its feed
//! (parsed by feed-rs), the JSON mirror, and the link to the arXiv version on both pages.

mod support;

use papertide::app::App;
use papertide::config::Config;
use papertide::domain::{PaperKey, PaperRecord, VenueSource};
use papertide::ingest::{IngestRequest, RunSummary, Source, run_once};
use papertide::store::LinkMethod;
use papertide::venues::VenueTarget;
use support::fake_server::{FakeServer, Reply};
use support::papers::{acl_arxiv_twin, paper};
use support::router::{get_bytes, get_json};

const FIX: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/venues");

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{FIX}/{name}")).unwrap()
}

fn config(dir: &std::path::Path, server: &FakeServer) -> Config {
    let mut c = support::config::against(dir, server);
    c.venues.acl_url = server.base_url();
    c.venues.pmlr_url = server.base_url();
    c.venues.openreview_url = server.base_url();
    c.venues.cvf_url = server.base_url();
    c
}

async fn ingest(app: &App, target: &str) -> RunSummary {
    let target: VenueTarget = target.parse().unwrap();
    let req = IngestRequest { source: Some(Source::Venue(target.source())), venue: Some(target), ..Default::default() };
    run_once(app, &req).await.unwrap()
}

async fn feed(app: &App, uri: &str) -> feed_rs::model::Feed {
    let (status, body) = get_bytes(app, uri).await;
    assert_eq!(status, 200, "{uri}: {}", String::from_utf8_lossy(&body));
    feed_rs::parser::parse(&body[..]).unwrap_or_else(|e| panic!("{uri}: {e}"))
}

#[tokio::test]
async fn acl_volume_from_ingest_to_listing_feed_and_arxiv_link() {
    let server = FakeServer::start().await;
    // A 500 first: the retry decorator takes it; then the file, conditionally.
    server.script(
        "/data/xml/2024.hucllm.xml",
        [
            Reply::Status500,
            Reply::NotModifiedIfEtag { etag: "\"v1\"".into(), body: fixture("acl-2024.hucllm.xml").into() },
            Reply::NotModifiedIfEtag { etag: "\"v1\"".into(), body: fixture("acl-2024.hucllm.xml").into() },
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let app = App::open(config(dir.path(), &server)).await.unwrap();
    // The arXiv version is stored first, plus a decoy with the same title by other people.
    let decoy = PaperRecord {
        authors: vec!["Grace Hopper".into()],
        ..paper("2402.00001", "Parameter-Efficient Detoxification with Contrastive Decoding", "Other.", &["cs.CL"])
    };
    app.store_batch(&[acl_arxiv_twin(), decoy], &[], None).await.unwrap();
    app.commit_index().await.unwrap();

    let s = ingest(&app, "acl:2024.hucllm-1").await;
    assert!(s.errors.is_empty(), "{s}");
    assert_eq!(s.new, 7, "{s}");
    assert_eq!(s.linked, 1, "{s}");
    assert_eq!(app.store.venue_paper_count().await.unwrap(), 7);

    let key = PaperKey::parse("acl:2024.hucllm-1.3").unwrap();
    let p = app.store.venue_paper(&key).await.unwrap().unwrap();
    assert_eq!(p.source, VenueSource::Acl);
    assert_eq!(p.edition.to_string(), "HUCLLM.2024");
    assert_eq!(p.authors, ["Tong Niu", "Caiming Xiong", "Yingbo Zhou", "Semih Yavuz"]);
    assert_eq!(p.arxiv_id.as_ref().map(|i| i.to_string()).as_deref(), Some("2401.06947"), "not the decoy");
    assert_eq!(p.link_method, Some(LinkMethod::Match));
    assert!(p.abstract_text.starts_with("The field of natural language generation"));

    // Second run: 304, nothing rewritten, the link kept.
    let again = ingest(&app, "acl:2024.hucllm-1").await;
    assert!(again.errors.is_empty() && again.new == 0 && again.updated == 0, "{again}");
    assert!(again.notes.iter().any(|n| n.contains("not modified")), "{again}");
    assert_eq!(server.hits("/data/xml/2024.hucllm.xml"), 3);

    // Pages: the venue index, the edition's listing, the conference's latest edition, the paper page.
    let (status, body) = get_bytes(&app, "/venue").await;
    let html = String::from_utf8(body).unwrap();
    assert_eq!(status, 200);
    assert!(html.contains("/venue/HUCLLM.2024") && html.contains("7 papers"), "{html}");
    for uri in ["/venue/HUCLLM.2024", "/venue/hucllm", "/venue/HUCLLM"] {
        let (status, body) = get_bytes(&app, uri).await;
        let html = String::from_utf8(body).unwrap();
        assert_eq!(status, 200, "{uri}");
        assert_eq!(html.matches("<article class=\"paper venue-paper\"").count(), 7, "{uri}");
        assert!(html.contains("also arXiv 2401.06947"), "{uri}");
        // One work, one star: the linked paper's star is the arXiv paper's.
        assert!(html.contains("data-id=\"2401.06947\""), "{uri}");
    }
    let (status, body) = get_bytes(&app, "/venue/paper/acl:2024.hucllm-1.3").await;
    assert_eq!(status, 200);
    let html = String::from_utf8(body).unwrap();
    assert!(html.contains("Parameter-Efficient Detoxification") && html.contains("href=\"/arxiv/2401.06947\""));
    assert!(html.contains("https://aclanthology.org/2024.hucllm-1.3/"));
    // For you on a venue listing: the reader's preference term first, saying why; stars of arXiv papers count.
    let (status, body) = get_bytes(&app, "/venue/HUCLLM.2024?order=foryou&prefer=detoxification").await;
    let html = String::from_utf8(body).unwrap();
    assert_eq!(status, 200);
    let first = html.find("<article class=\"paper venue-paper\"").unwrap();
    assert!(html[first..].starts_with("<article class=\"paper venue-paper\" id=\"p-acl:2024.hucllm-1.3\""), "{html}");
    assert!(html.contains("mentions detoxification"));
    let (_, body) = get_bytes(&app, "/venue/HUCLLM.2024?order=foryou&stars=2401.06947").await;
    assert!(String::from_utf8(body).unwrap().contains("Close to your starred"));
    // A venue paper without an arXiv version lists related arXiv papers (lexical); a linked one points to its
    // arXiv version's list instead.
    let (_, body) = get_bytes(&app, "/venue/paper/acl:2024.hucllm-1.1").await;
    let html = String::from_utf8(body).unwrap();
    assert!(html.contains("Related arXiv papers") && html.contains("<li><a href=\"/arxiv/24"), "{html}");
    let (_, body) = get_bytes(&app, "/venue/paper/acl:2024.hucllm-1.3").await;
    assert!(!String::from_utf8(body).unwrap().contains("Related arXiv papers"));
    // The arXiv paper shows its venue.
    let (_, body) = get_bytes(&app, "/arxiv/2401.06947").await;
    let html = String::from_utf8(body).unwrap();
    assert!(html.contains("HUCLLM 2024") && html.contains("/venue/paper/acl:2024.hucllm-1.3"), "badge");
    let (_, body) = get_bytes(&app, "/arxiv/search?query=detoxification").await;
    let html = String::from_utf8(body).unwrap();
    assert_eq!(html.matches("class=\"venue-badge\"").count(), 1, "search results carry the badge, once");
    let (_, body) = get_bytes(&app, "/arxiv/2402.00001").await;
    assert!(!String::from_utf8(body).unwrap().contains("HUCLLM 2024"), "the decoy has no badge");

    // Search: the arXiv version once (with its badge), the other workshop papers in the proceedings section;
    // source=venues finds conference papers alone, and the JSON says the same.
    let (_, body) = get_bytes(&app, "/arxiv/search?query=language").await;
    let html = String::from_utf8(body).unwrap();
    assert!(html.contains("In conference proceedings"), "the venue section");
    assert!(!html.contains("id=\"p-acl:2024.hucllm-1.3\""), "its arXiv version is not shown twice");
    let (_, body) = get_bytes(&app, "/arxiv/search?query=detoxification&source=venues").await;
    let html = String::from_utf8(body).unwrap();
    assert!(html.contains("id=\"p-acl:2024.hucllm-1.3\""), "source=venues");
    assert!(!html.contains("id=\"p-2401.06947\""), "no arXiv papers with source=venues");
    let (_, v) = get_json(&app, "/api/search?q=detoxification").await;
    let ids: Vec<&str> = v["results"].as_array().unwrap().iter().filter_map(|h| h["id"].as_str()).collect();
    assert!(ids.contains(&"2401.06947"), "{v}");
    assert_eq!(v["venue_results"][0]["id"], "acl:2024.hucllm-1.3");
    let (_, v) = get_json(&app, "/api/search?q=detoxification&source=venues").await;
    assert_eq!(v["results"][0]["id"], "acl:2024.hucllm-1.3");
    assert_eq!(get_json(&app, "/api/search?q=x&source=dblp").await.0, 400);

    // Feeds, parsed by a real feed reader.
    let f = feed(&app, "/venue/HUCLLM.2024/feed").await;
    assert_eq!(f.entries.len(), 7);
    let e = f.entries.iter().find(|e| e.id == "acl:2024.hucllm-1.3").expect("guid is the key");
    assert!(e.links[0].href.ends_with("/venue/paper/acl:2024.hucllm-1.3"));
    assert!(e.summary.as_ref().unwrap().content.starts_with("[also arXiv 2401.06947]"));
    assert_eq!(feed(&app, "/venue/latest/feed").await.entries.len(), 7);
    assert_eq!(feed(&app, "/venue/HUCLLM/feed").await.entries.len(), 7);

    // JSON mirrors.
    let (status, v) = get_json(&app, "/api/venue/HUCLLM.2024").await;
    assert_eq!(status, 200);
    assert_eq!(v["total"], 7);
    assert_eq!(v["papers"].as_array().unwrap().len(), 7);
    let (_, v) = get_json(&app, "/api/venue/paper/acl:2024.hucllm-1.3").await;
    assert_eq!(v["arxiv_id"], "2401.06947");
    assert_eq!(v["key"], "acl:2024.hucllm-1.3");
    let (_, v) = get_json(&app, "/api/venue").await;
    assert_eq!(v["editions"][0]["papers"], 7);

    // Bad addresses say what is wrong.
    assert_eq!(get_bytes(&app, "/venue/ICLR.2025").await.0, 404);
    assert_eq!(get_bytes(&app, "/venue/paper/acl:nope").await.0, 400);
    assert_eq!(get_bytes(&app, "/venue/paper/acl:2024.hucllm-1.99").await.0, 404);
    assert_eq!(get_bytes(&app, "/venue/%3Cscript%3E").await.0, 400);
}

#[tokio::test]
async fn a_source_that_refuses_is_reported_not_hammered_and_bad_records_are_counted() {
    let server = FakeServer::start().await;
    server.script("/data/xml/2024.scalellm.xml", [Reply::status(403, "Forbidden")]);
    let dir = tempfile::tempdir().unwrap();
    let app = App::open(config(dir.path(), &server)).await.unwrap();
    let s = ingest(&app, "acl:2024.scalellm-1").await;
    assert_eq!(s.errors.len(), 1, "{s}");
    assert!(s.errors[0].contains("403"), "{s}");
    assert_eq!(server.hits("/data/xml/2024.scalellm.xml"), 1, "a 403 is not retried");
    assert_eq!(app.store.venue_paper_count().await.unwrap(), 0);

    // The file again, with one paper's title removed and the document cut off after the fourth paper.
    let xml = String::from_utf8(fixture("acl-2024.scalellm.xml")).unwrap();
    let first_title = xml.find("<title>").unwrap();
    let paper1 = xml[..first_title].rfind("<paper").unwrap();
    let title_end = xml[paper1..].find("</title>").unwrap() + paper1 + "</title>".len();
    let start = xml[paper1..].find("<title>").unwrap() + paper1;
    let mut broken = format!("{}{}", &xml[..start], &xml[title_end..]);
    let cut = broken.match_indices("<paper id=").nth(4).map(|(i, _)| i + 20).unwrap();
    broken.truncate(cut);
    server.script(
        "/data/xml/2024.scalellm.xml",
        [
            Reply::ok(broken).with_header("etag", "\"cut\""),
            Reply::NotModifiedIfEtag { etag: "\"whole\"".into(), body: fixture("acl-2024.scalellm.xml").into() },
        ],
    );
    let s = ingest(&app, "acl:2024.scalellm-1").await;
    assert!(s.skipped >= 2, "the untitled paper and the cut: {s}");
    assert!(s.skip_reasons.keys().any(|r| r.contains("title")), "{s}");
    let stored = app.store.venue_paper_count().await.unwrap();
    assert!((2..=3).contains(&stored), "the complete papers are kept: {stored}");
    // The cut file's validators are not kept: the next run asks for it whole (unconditionally) and gets it all.
    let again = ingest(&app, "acl:2024.scalellm-1").await;
    let last = server.requests_to("/data/xml/2024.scalellm.xml").pop().unwrap();
    assert_eq!(last.header("if-none-match"), None, "{again}");
    assert_eq!(app.store.venue_paper_count().await.unwrap(), 5, "{again}");
}

#[tokio::test]
async fn pmlr_volume_bibtex_is_ingested() {
    let server = FakeServer::start().await;
    // A 500 and a body cut short first: both retried by the decorator, then the file.
    server.script(
        "/v246/assets/bib/bibliography.bib",
        [Reply::Status500, Reply::Truncated, Reply::ok(fixture("pmlr-v246-pgm24.bib"))],
    );
    let dir = tempfile::tempdir().unwrap();
    let app = App::open(config(dir.path(), &server)).await.unwrap();
    let s = ingest(&app, "pmlr:246").await;
    assert!(s.errors.is_empty(), "{s}");
    assert_eq!(s.new, 33, "{s}");
    assert_eq!(server.hits("/v246/assets/bib/bibliography.bib"), 3);
    let p = app.store.venue_paper(&PaperKey::parse("pmlr:v246/pena24a").unwrap()).await.unwrap().unwrap();
    assert_eq!(p.title, "Alternative Measures of Direct and Indirect Effects");
    assert_eq!(p.authors, ["Jose M. Peña"], "TeX accents decoded for display");
    assert_eq!(p.edition.to_string(), "PGM.2024");
    let (status, body) = get_bytes(&app, "/venue/PGM.2024").await;
    assert_eq!(status, 200);
    assert!(String::from_utf8(body).unwrap().contains("Showing 1–33 of 33"));
    assert_eq!(app.venue_index.num_docs(), 33, "searchable");

    // The venue index is derived: lost, it is rebuilt from the store on the next start.
    let config = app.config.as_ref().clone();
    app.store.close().await;
    drop(app);
    std::fs::remove_dir_all(config.venue_index_dir()).unwrap();
    let app = App::open(config).await.unwrap();
    assert_eq!(app.venue_index.num_docs(), 33);
    let (_, v) = get_json(&app, "/api/search?q=confounding&source=venues").await;
    assert!(v["total"].as_u64().unwrap() >= 1, "{v}");
}

/// A page of OpenReview API v2 notes as its documentation describes it (no real recording could be found).
fn notes(range: std::ops::Range<usize>, count: usize) -> String {
    let notes: Vec<serde_json::Value> = range
        .map(|i| {
            let venue = if i == 3 {
                "Submitted to ICLR 2025"
            } else if i % 2 == 0 {
                "ICLR 2025 Poster"
            } else {
                "ICLR 2025 Oral"
            };
            serde_json::json!({
                "id": format!("Note{i:04}x"), "forum": format!("Forum{i:04}x"), "pdate": 1_737_000_000_000u64,
                "content": {
                    "title": { "value": format!("Paper number {i} on learning") },
                    "authors": { "value": ["Ada Lovelace", format!("Author {i}")] },
                    "abstract": { "value": format!("Abstract {i}.") },
                    "keywords": { "value": ["learning"] },
                    "venue": { "value": venue },
                    "venueid": { "value": "ICLR.cc/2025/Conference" },
                    "pdf": { "value": format!("/pdf/{i}.pdf") }
                }
            })
        })
        .collect();
    serde_json::json!({ "notes": notes, "count": count }).to_string()
}

#[tokio::test]
async fn openreview_pages_resume_after_a_refusal_without_duplicates() {
    let server = FakeServer::start().await;
    server.script("/notes?offset=0", [Reply::ok(notes(0..2, 5))]);
    // The second page is refused (OpenReview's bot challenge), then served on the next run.
    server.script(
        "/notes?offset=2",
        [
            Reply::status(403, r#"{"name":"ChallengeRequiredError","message":"challenge required","status":403}"#),
            Reply::ok(notes(2..4, 5)),
        ],
    );
    server.script("/notes?offset=4", [Reply::ok(notes(4..5, 5))]);
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path(), &server);
    cfg.venues.openreview_page_size = 2;
    let app = App::open(cfg).await.unwrap();

    let s = ingest(&app, "openreview:ICLR.cc/2025/Conference").await;
    assert_eq!(s.errors.len(), 1, "{s}");
    assert_eq!(s.new, 2, "{s}");
    assert_eq!(server.hits("/notes?offset=2"), 1, "not hammered");

    let s = ingest(&app, "openreview:ICLR.cc/2025/Conference").await;
    assert!(s.errors.is_empty(), "{s}");
    assert!(s.notes.iter().any(|n| n.contains("resuming at offset 2")), "{s}");
    assert_eq!(server.hits("/notes?offset=0"), 1, "resumed, not restarted");
    assert_eq!(s.new, 2, "notes 2 and 4 (note 3 was not accepted): {s}");
    assert_eq!(s.skip_reasons.get("not accepted"), Some(&1), "{s}");
    assert_eq!(app.store.venue_paper_count().await.unwrap(), 4);
    let p = app.store.venue_paper(&PaperKey::parse("openreview:Forum0001x").unwrap()).await.unwrap().unwrap();
    assert_eq!(p.track.as_deref(), Some("Oral"));
    assert_eq!(p.edition.to_string(), "ICLR.2025");
    let (_, v) = get_json(&app, "/api/venue/ICLR.2025?track=Oral").await;
    assert_eq!(v["total"], 1);
    let (_, body) = get_bytes(&app, "/venue/ICLR.2025").await;
    let html = String::from_utf8(body).unwrap();
    assert!(html.contains("Poster (3)") && html.contains("Oral (1)"), "tracks with counts");
}

/// A CVF open-access listing and paper page in the documented markup (no real recording could be found).
const CVF_LISTING: &str = r##"<html><body><div id="content"><dl>
<dt class="ptitle"><br><a href="/content/CVPR2024/html/Niu_Parameter-Efficient_Detoxification_CVPR_2024_paper.html">Parameter-Efficient Detoxification with Contrastive Decoding</a></dt>
<dd>
<form id="form-Tong" action="/CVPR2024" method="post" class="authsearch"><input type="hidden" name="query_author" value="Tong Niu"><a href="#" onclick="$('#form-Tong').submit();">Tong Niu</a>,</form>
<form id="form-Semih" action="/CVPR2024" method="post" class="authsearch"><input type="hidden" name="query_author" value="Semih Yavuz"><a href="#" onclick="$('#form-Semih').submit();">Semih Yavuz</a></form>
</dd>
<dd>[<a href="/content/CVPR2024/papers/Niu_Parameter-Efficient_Detoxification_CVPR_2024_paper.pdf">pdf</a>]
[<a href="http://arxiv.org/abs/2401.06947">arXiv</a>]
<div class="link2">[<a class="fakelink">bibtex</a>]<div class="bibref pre-white-space">@InProceedings{Niu_2024_CVPR}</div></div></dd>
<dt class="ptitle"><br><a href="/content/CVPR2024/html/Doe_Seeing_Things_CVPR_2024_paper.html">Seeing Things</a></dt>
<dd><form id="form-Jane" action="/CVPR2024" method="post" class="authsearch"><input type="hidden" name="query_author" value="Jane Doe"><a href="#">Jane Doe</a></form></dd>
<dd>[<a href="/content/CVPR2024/papers/Doe_Seeing_Things_CVPR_2024_paper.pdf">pdf</a>]</dd>
</dl></div></body></html>"##;

#[tokio::test]
async fn cvf_listing_links_by_its_own_arxiv_link_and_fetches_abstracts() {
    let server = FakeServer::start().await;
    server.script("/CVPR2024?day=all", [Reply::ok(CVF_LISTING)]);
    server.script(
        "/content/CVPR2024/html/Niu_Parameter-Efficient_Detoxification_CVPR_2024_paper.html",
        [Reply::ok(r#"<html><body><div id="abstract">We detoxify &amp; decode.</div></body></html>"#)],
    );
    server.script("/content/CVPR2024/html/Doe_Seeing_Things_CVPR_2024_paper.html", [Reply::Status500, Reply::Reset]);
    let dir = tempfile::tempdir().unwrap();
    let app = App::open(config(dir.path(), &server)).await.unwrap();
    app.store_batch(&[acl_arxiv_twin()], &[], None).await.unwrap();
    app.commit_index().await.unwrap();

    let s = ingest(&app, "cvf:CVPR2024").await;
    assert_eq!(s.new, 2, "{s}");
    assert_eq!(s.linked, 1, "{s}");
    assert_eq!(s.errors.len(), 1, "the second paper page failed: {s}");
    let key = PaperKey::parse("cvf:CVPR2024/Niu_Parameter-Efficient_Detoxification_CVPR_2024_paper").unwrap();
    let p = app.store.venue_paper(&key).await.unwrap().unwrap();
    assert_eq!(p.link_method, Some(LinkMethod::Source));
    assert_eq!(p.abstract_text, "We detoxify & decode.");
    assert_eq!(p.authors, ["Tong Niu", "Semih Yavuz"]);
    assert_eq!(p.edition.to_string(), "CVPR.2024");
    assert!(p.pdf_url.as_deref().unwrap().ends_with("Niu_Parameter-Efficient_Detoxification_CVPR_2024_paper.pdf"));
}

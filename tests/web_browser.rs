//! The reader in headless Chromium, driven over WebDriver (chromedriver) with plain HTTP: open a listing,
//! add a keyword and see it highlighted, star a paper, reload and find it on the Starred page, toggle dark
//! mode; star two papers and switch to "For you" (their related papers come first), translate a page's titles
//! and an abstract through the fake LLM; open a venue listing and star a paper that is also on arXiv;
//! screenshots (desktop, 360 px wide, For you, translated, a venue listing) land in `target/screenshots/`.
//!
//! Skips, saying why, when `chromium` or `chromedriver` is missing (CI installs both: see .ci/run).

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use papertide::app::App;
use papertide::domain::{AnnounceKind, Announcement, ArxivId, Category, PaperRecord};
use serde_json::{Value, json};
use support::fake_llm::{Behavior, FakeLlm};
use support::papers::paper;

const CHROMIUM: &str = "/usr/bin/chromium";
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

fn find_driver() -> Option<PathBuf> {
    ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"].iter().map(PathBuf::from).find(|p| p.exists())
}

/// Kills chromedriver however the test ends.
struct Driver(Child);
impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

struct Session {
    http: reqwest::Client,
    base: String,
}

impl Session {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}{}", self.base, path);
        let mut req = self.http.request(method, &url);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.unwrap_or_else(|e| panic!("{url}: {e}"));
        let v: Value = res.json().await.unwrap();
        if v["value"].get("error").is_some() {
            panic!("WebDriver {path}: {}", v["value"]);
        }
        v["value"].clone()
    }
    async fn post(&self, path: &str, body: Value) -> Value {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }
    async fn goto(&self, url: &str) {
        self.post("/url", json!({ "url": url })).await;
    }
    async fn js(&self, script: &str) -> Value {
        self.post("/execute/sync", json!({ "script": script, "args": [] })).await
    }
    async fn find(&self, css: &str) -> String {
        let v = self.post("/element", json!({ "using": "css selector", "value": css })).await;
        v[ELEMENT].as_str().unwrap().to_string()
    }
    async fn click(&self, css: &str) {
        let id = self.find(css).await;
        self.post(&format!("/element/{id}/click"), json!({})).await;
    }
    async fn type_into(&self, css: &str, text: &str) {
        let id = self.find(css).await;
        self.post(&format!("/element/{id}/value"), json!({ "text": text })).await;
    }
    /// Polls a script until it returns true (pages fetch and render asynchronously).
    async fn wait_for(&self, script: &str, what: &str) {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(10) {
            if self.js(script).await == Value::Bool(true) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("timed out waiting for {what}");
    }
    async fn screenshot(&self, path: &Path) {
        let b64 = self.call(reqwest::Method::GET, "/screenshot", None).await;
        std::fs::write(path, base64_decode(b64.as_str().unwrap())).unwrap();
    }
}

fn base64_decode(s: &str) -> Vec<u8> {
    let val = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        _ => 63,
    };
    let clean: Vec<u8> = s.bytes().filter(|c| c.is_ascii_alphanumeric() || *c == b'+' || *c == b'/').collect();
    let mut out = Vec::with_capacity(clean.len() * 3 / 4);
    for chunk in clean.chunks(4) {
        let v: Vec<u32> = chunk.iter().map(|c| val(*c) as u32).collect();
        let n = v.iter().enumerate().fold(0u32, |acc, (i, x)| acc | (x << (18 - 6 * i)));
        out.push((n >> 16) as u8);
        if chunk.len() > 2 {
            out.push((n >> 8) as u8);
        }
        if chunk.len() > 3 {
            out.push(n as u8);
        }
    }
    out
}

async fn fixture_app(dir: &Path) -> App {
    let app = App::open(support::config::at(dir)).await.unwrap();
    let day = NaiveDate::from_ymd_opt(2026, 6, 16).unwrap();
    let titles = [
        "Diffusion models for $\\mathcal{O}(n \\log n)$ sampling",
        "Retrieval-augmented generation with sparse experts",
        "A survey of <script>alert(1)</script> injection in language models",
        "Scaling laws for diffusion transformers at $10^{12}$ parameters",
    ];
    let mut recs = Vec::new();
    let mut anns = Vec::new();
    for (i, t) in titles.iter().enumerate() {
        let id = ArxivId::parse(&format!("2606.0020{i}")).unwrap();
        let abstract_text = format!(
            "We propose {t}. Our method achieves $x^2 \\leq \\epsilon$ error on benchmarks, which is long enough to fold on a phone screen when the abstract runs on and on for several lines of text."
        );
        recs.push(PaperRecord {
            authors: vec!["Ada Lovelace".into(), "Alan Turing".into()],
            comments: Some("12 pages, 4 figures".into()),
            ..paper(&id.to_string(), *t, abstract_text, &["cs.LG", "cs.AI"])
        });
        anns.push(Announcement { date: day, category: Category::parse("cs.LG").unwrap(), id, kind: AnnounceKind::New });
    }
    app.store_batch(&recs, &anns, None).await.unwrap();
    app.commit_index().await.unwrap();
    app
}

/// A headless Chromium under chromedriver, closed however the test ends.
struct Browser {
    s: Session,
    _driver: Driver,
    _profile: tempfile::TempDir,
    _one: tokio::sync::MutexGuard<'static, ()>,
}

/// One browser at a time: two Chromiums on a 2-core machine make both tests slow and flaky.
static ONE_BROWSER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn open_browser(test: &str) -> Option<Browser> {
    let one = ONE_BROWSER.lock().await;
    let Some(driver_bin) = find_driver().filter(|_| Path::new(CHROMIUM).exists()) else {
        println!("SKIPPED {test}: {CHROMIUM} or chromedriver is missing (apt-get install chromium chromium-driver)");
        return None;
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let driver = Driver(
        Command::new(driver_bin)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let http = reqwest::Client::new();
    let driver_url = format!("http://127.0.0.1:{port}");
    let start = Instant::now();
    while http.get(format!("{driver_url}/status")).send().await.is_err() {
        assert!(start.elapsed() < Duration::from_secs(20), "chromedriver did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let profile = tempfile::tempdir().unwrap();
    let caps = json!({ "capabilities": { "alwaysMatch": { "browserName": "chrome", "goog:chromeOptions": {
        "binary": CHROMIUM,
        "args": ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-quic", "--disable-dev-shm-usage",
                 "--force-prefers-reduced-motion", "--window-size=1280,1000",
                 format!("--user-data-dir={}", profile.path().display())]
    }}}});
    let v: Value = http.post(format!("{driver_url}/session")).json(&caps).send().await.unwrap().json().await.unwrap();
    let sid = v["value"]["sessionId"].as_str().unwrap_or_else(|| panic!("no session: {v}")).to_string();
    let s = Session { http: http.clone(), base: format!("{driver_url}/session/{sid}") };
    Some(Browser { s, _driver: driver, _profile: profile, _one: one })
}

fn screenshots_dir() -> PathBuf {
    let shots = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    shots
}

async fn serve(app: App) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let site = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, papertide::web::build_router(app)).await });
    site
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reader_in_headless_chromium() {
    let Some(browser) = open_browser("reader_in_headless_chromium").await else { return };
    let s = &browser.s;
    let dir = tempfile::tempdir().unwrap();
    let site = serve(fixture_app(dir.path()).await).await;
    let shots = screenshots_dir();

    // The listing: papers, rendered math, the hostile title as text.
    s.goto(&format!("{site}/arxiv/cs.LG")).await;
    assert_eq!(s.js("return document.querySelectorAll('article.paper').length").await, 4);
    assert_eq!(
        s.js("return document.querySelectorAll('script').length").await,
        2,
        "only app.js and summary.js: the title's script is text"
    );
    assert!(s.js("return document.querySelectorAll('.title math').length").await.as_u64().unwrap() >= 1);

    // A keyword: highlighted in titles and abstracts, counts say so; "only matching" filters.
    s.click(".keywords summary").await;
    s.type_into("#kw-include", "diffusion").await;
    s.click(".kw-form button[type=submit]").await;
    s.wait_for("return document.querySelectorAll('.title mark.kw').length === 2", "highlighted titles").await;
    let status = s.js("return document.querySelector('.kw-status').textContent").await;
    assert!(status.as_str().unwrap().contains("2 matching"), "{status}");
    s.click("#kw-only").await;
    s.click(".kw-form button[type=submit]").await;
    s.wait_for("return document.querySelectorAll('article.paper:not(.hidden-kw)').length === 2", "filtered").await;
    s.click("#kw-only").await;
    s.click(".kw-form button[type=submit]").await;
    s.screenshot(&shots.join("listing-desktop.png")).await;

    // Star a paper; after a reload it is still starred and shows on the Starred page.
    s.click("#p-2606\\.00201 .act-star").await;
    s.goto(&format!("{site}/arxiv/cs.LG")).await;
    s.wait_for(
        "return document.querySelector('#p-2606\\\\.00201 .act-star').getAttribute('aria-pressed') === 'true'",
        "star kept",
    )
    .await;
    assert_eq!(s.js("return document.querySelectorAll('.title mark.kw').length").await, 2, "keywords kept too");
    s.goto(&format!("{site}/starred")).await;
    s.wait_for(
        "var a = document.querySelector('#starred-list article[data-id=\"2606.00201\"] .abstract'); return !!a && a.textContent.indexOf('We propose') === 0",
        "the starred paper fetched from the API",
    )
    .await;

    // Related opens inline, without a page load (no model here: the BM25 list, saying so); Summary opens inline
    // too (no LLM here: the stream says how to configure one).
    s.goto(&format!("{site}/arxiv/cs.LG")).await;
    s.js("window.__sameDocument = true").await;
    s.click("#p-2606\\.00200 .act-related").await;
    s.wait_for(
        "var n = document.querySelector('#related-2606\\\\.00200 .related-note'); return !!n && n.textContent.indexOf('BM25') >= 0",
        "the inline related panel",
    )
    .await;
    s.click("#p-2606\\.00200 .act-summary").await;
    s.wait_for(
        "var st = document.querySelector('#summary-2606\\\\.00200 .summary-status'); return !!st && st.textContent.length > 0",
        "the inline summary panel",
    )
    .await;
    assert_eq!(s.js("return window.__sameDocument === true").await, true, "no full page load");
    s.screenshot(&shots.join("listing-related-summary.png")).await;

    // Dark mode: the toggle flips the theme and the background, and it sticks across pages.
    s.goto(&format!("{site}/arxiv/cs.LG")).await;
    let bg = "return getComputedStyle(document.body).backgroundColor";
    let light = s.js(bg).await;
    s.click(".theme-toggle").await;
    assert_eq!(s.js("return document.documentElement.dataset.theme").await, "dark");
    assert_ne!(s.js(bg).await, light);
    s.goto(&format!("{site}/starred")).await;
    assert_eq!(s.js("return document.documentElement.dataset.theme").await, "dark");
    s.goto(&format!("{site}/arxiv/cs.LG")).await;
    s.screenshot(&shots.join("listing-desktop-dark.png")).await;
    s.click(".theme-toggle").await;

    // 360 px wide: no horizontal scrolling, abstracts folded.
    s.post("/window/rect", json!({ "width": 360, "height": 800 })).await;
    s.goto(&format!("{site}/arxiv/cs.LG")).await;
    let width = s.js("return window.innerWidth").await.as_u64().unwrap();
    if width <= 400 {
        assert_eq!(
            s.js("return document.documentElement.scrollWidth <= window.innerWidth").await,
            true,
            "no sideways scroll"
        );
    } else {
        println!("window could not be made narrow (inner width {width}); layout check skipped");
    }
    s.screenshot(&shots.join("listing-360.png")).await;

    // Keyboard: "/" focuses search, and focus is visible.
    s.post(
        "/actions",
        json!({ "actions": [{ "type": "key", "id": "kb", "actions": [
        { "type": "keyDown", "value": "/" }, { "type": "keyUp", "value": "/" }] }] }),
    )
    .await;
    assert_eq!(s.js("return document.activeElement.id").await, "top-q");

    s.call(reqwest::Method::DELETE, "", None).await;
    println!("screenshots in {}", shots.display());
}

/// A day where the papers a reader cares about are listed last, two older papers to star, and a fake LLM.
async fn for_you_app(dir: &Path, llm: &FakeLlm) -> App {
    let mut config = support::config::at(dir);
    config.llm = papertide::llm::LlmConfig {
        base_url: Some(llm.base_url()),
        model: Some("fake-model".into()),
        request_timeout_s: 5,
        retry_initial_ms: 10,
        retry_max_elapsed_s: 2,
        per_client_per_minute: 0,
        daily_request_cap: 0,
        ..Default::default()
    };
    let app = App::open(config).await.unwrap();
    let ann = |id: &str, day: NaiveDate| Announcement {
        date: day,
        category: Category::parse("cs.LG").unwrap(),
        id: ArxivId::parse(id).unwrap(),
        kind: AnnounceKind::New,
    };
    let (old, day) = (NaiveDate::from_ymd_opt(2026, 6, 1).unwrap(), NaiveDate::from_ymd_opt(2026, 6, 16).unwrap());
    let mut recs = vec![
        paper(
            "2606.00010",
            "Protein structure from amino acid sequences",
            "Predicting protein structure and folding from amino acid sequences of residues; CASP accuracy.",
            &["cs.LG"],
        ),
        paper(
            "2606.00011",
            "Automatic speech recognition for spoken audio",
            "End-to-end automatic speech recognition lowers word error rate on spoken audio.",
            &["cs.LG"],
        ),
    ];
    let mut anns = vec![ann("2606.00010", old), ann("2606.00011", old)];
    let fillers = [
        "Traffic signal timing with queue models",
        "Auction design for cloud spot instances",
        "Compiler passes for sparse tensors",
        "Bird migration routes from satellite tags",
    ];
    for i in 0..12 {
        let id = format!("2606.{:05}", 100 + i);
        recs.push(paper(
            &id,
            format!("{}, part {i}", fillers[i % 4]),
            "Nothing about proteins or speech here at all.",
            &["cs.LG"],
        ));
        anns.push(ann(&id, day));
    }
    recs.push(paper(
        "2606.00200",
        "Protein folding with equivariant attention",
        "We predict protein structure from amino acid sequences with attention over residues; CASP folding accuracy.",
        &["cs.LG"],
    ));
    recs.push(paper(
        "2606.00201",
        "Streaming speech recognition transducers",
        "A transducer for streaming automatic speech recognition cuts word error rate on spoken audio.",
        &["cs.LG"],
    ));
    anns.push(ann("2606.00200", day));
    anns.push(ann("2606.00201", day));
    app.store_batch(&recs, &anns, None).await.unwrap();
    app.commit_index().await.unwrap();
    app
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn for_you_and_translation_in_headless_chromium() {
    let Some(browser) = open_browser("for_you_and_translation_in_headless_chromium").await else { return };
    let s = &browser.s;
    let llm = FakeLlm::start().await;
    llm.script([Behavior::Translate]);
    let dir = tempfile::tempdir().unwrap();
    let site = serve(for_you_app(dir.path(), &llm).await).await;
    let shots = screenshots_dir();

    // Star two papers of an older day.
    s.goto(&format!("{site}/arxiv/cs.LG?date=2026-06-01")).await;
    s.click("#p-2606\\.00010 .act-star").await;
    s.click("#p-2606\\.00011 .act-star").await;
    // Today, in arXiv's order, the related papers are last; For you brings them first, saying why.
    s.goto(&format!("{site}/arxiv/cs.LG?date=2026-06-16")).await;
    let first_two = "return Array.from(document.querySelectorAll('article.paper')).slice(0, 2).map(a => a.dataset.id).sort().join(',')";
    assert_ne!(s.js(first_two).await, "2606.00200,2606.00201");
    s.click("a.order-foryou").await;
    s.wait_for(
        "return location.search.indexOf('order=foryou') >= 0 && document.readyState === 'complete'",
        "the For-you page",
    )
    .await;
    let url = s.js("return location.search").await;
    assert!(url.as_str().unwrap().contains("stars=2606.00010%2C2606.00011"), "{url}");
    assert_eq!(s.js(first_two).await, "2606.00200,2606.00201");
    let why = s.js("return document.querySelector('#p-2606\\\\.00201 .why').textContent").await;
    assert!(why.as_str().unwrap().contains("Automatic speech recognition for spoken audio"), "{why}");
    assert_eq!(s.js("return document.querySelector('a.order-foryou').getAttribute('aria-current')").await, "true");
    s.screenshot(&shots.join("listing-for-you.png")).await;

    // Translate the page's titles through the (fake) LLM: one request, every title, rendered as text + MathML.
    s.click("button.translate-titles").await;
    s.wait_for(
        "return document.querySelectorAll('.tr-title').length === document.querySelectorAll('article.paper').length",
        "translated titles",
    )
    .await;
    let t = s.js("return document.querySelector('#p-2606\\\\.00200 .tr-title').textContent").await;
    assert_eq!(t, "〔译〕Protein folding with equivariant attention");
    assert_eq!(llm.hits(), 1, "one request for the page's titles");
    let status = s.js("return document.querySelector('.translate-status').textContent").await;
    assert!(status.as_str().unwrap().contains("Chinese (Simplified)"), "{status}");
    // One paper's abstract on demand; the toggle puts the page back.
    s.click("#p-2606\\.00201 .act-translate").await;
    s.wait_for("return !!document.querySelector('#p-2606\\\\.00201 .tr-abstract')", "the translated abstract").await;
    s.screenshot(&shots.join("listing-translated.png")).await;
    s.click("button.translate-titles").await;
    assert_eq!(s.js("return document.querySelectorAll('.translation').length").await, 0);
    s.call(reqwest::Method::DELETE, "", None).await;
}

/// The real ACL Anthology volume (tests/fixtures/venues) and the arXiv version of one of its papers.
async fn venue_app(dir: &Path) -> App {
    let app = App::open(support::config::at(dir)).await.unwrap();
    app.store_batch(&[support::papers::acl_arxiv_twin()], &[], None).await.unwrap();
    app.commit_index().await.unwrap();
    let xml = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/venues/acl-2024.hucllm.xml")).unwrap();
    let parsed = papertide::venues::acl::parse_volume(&xml, "2024.hucllm-1").unwrap();
    app.store.upsert_venue_batch(&parsed.records, None).await.unwrap();
    let mut summary = papertide::ingest::RunSummary::new("acl");
    assert_eq!(papertide::ingest::venues::link_unlinked(&app, &mut summary).await.unwrap(), 1);
    app
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn venue_listing_in_headless_chromium() {
    let Some(browser) = open_browser("venue_listing_in_headless_chromium").await else { return };
    let s = &browser.s;
    let dir = tempfile::tempdir().unwrap();
    let site = serve(venue_app(dir.path()).await).await;
    let shots = screenshots_dir();

    // From the venues page to the edition's listing.
    s.goto(&format!("{site}/venue")).await;
    s.click("a[href='/venue/HUCLLM.2024']").await;
    s.wait_for("return location.pathname === '/venue/HUCLLM.2024'", "the listing").await;
    assert_eq!(s.js("return document.querySelectorAll('article.venue-paper').length").await, 7);
    assert_eq!(s.js("return document.querySelectorAll('a.also-arxiv').length").await, 1);
    s.screenshot(&shots.join("venue-listing.png")).await;

    // One work, one star: starred on the venue listing, it is starred on its arXiv page too.
    s.click("article[data-id='2401.06947'] .act-star").await;
    s.goto(&format!("{site}/arxiv/2401.06947")).await;
    s.wait_for(
        "return document.querySelector('#p-2401\\\\.06947 .act-star').getAttribute('aria-pressed') === 'true'",
        "the arXiv version starred",
    )
    .await;
    assert!(
        s.js("return document.querySelector('.venue-badge').textContent")
            .await
            .as_str()
            .unwrap()
            .contains("HUCLLM 2024")
    );
    // An unlinked venue paper starred by its key shows on the Starred page, fetched from the venue JSON API.
    s.goto(&format!("{site}/venue/HUCLLM.2024")).await;
    s.click("article[data-id='acl:2024.hucllm-1.1'] .act-star").await;
    s.goto(&format!("{site}/starred")).await;
    s.wait_for(
        "var a = document.querySelector('#starred-list article[data-id=\"acl:2024.hucllm-1.1\"] .title a'); return !!a && a.textContent.indexOf('Human Speech Perception') === 0",
        "the starred venue paper",
    )
    .await;
    s.call(reqwest::Method::DELETE, "", None).await;
}

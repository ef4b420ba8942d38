//! The `papertide` command line.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use chrono::NaiveDate;
use clap::{Parser, Subcommand};

use crate::app::App;
use crate::config::Config;
use crate::domain::{ArxivId, Category, VenueSource};
use crate::ingest::import::{self, ImportSource};
use crate::venues::VenueTarget;

/// The bundled real sample `demo` serves (see data/sample/README.md).
static DEMO_SAMPLE: &[u8] = include_bytes!("../data/sample/papers.jsonl.gz");

#[derive(Debug, Parser)]
#[command(name = "papertide", version, about = "A self-hosted arXiv reading assistant")]
pub struct Cli {
    /// Where the database and the search index live (overrides PAPERTIDE_DATA_DIR and the config file).
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// A TOML config file; PAPERTIDE_* environment variables override it.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the web app and API, polling the followed categories' feeds unless --no-ingest.
    Serve {
        #[arg(long)]
        addr: Option<SocketAddr>,
        #[arg(long)]
        no_ingest: bool,
    },
    /// Run one ingest now and print its summary.
    Ingest(IngestArgs),
    /// Import Kaggle arxiv-metadata-oai-snapshot JSONL files (plain or .gz).
    Import {
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
    /// Rebuild the search index from the store.
    Reindex,
    /// Import the bundled real sample into the data directory (once) and serve it, live ingest off.
    Demo {
        #[arg(long)]
        addr: Option<SocketAddr>,
    },
    /// Related papers: build the CUR index over the corpus, precompute lists.
    #[command(subcommand)]
    Related(RelatedCommand),
    /// Benchmarks (see the README's Performance section).
    #[cfg(feature = "research")]
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Quality evaluations (see the README).
    #[cfg(feature = "research")]
    #[command(subcommand)]
    Eval(EvalCommand),
}

#[cfg(feature = "research")]
#[derive(Debug, Subcommand)]
pub enum EvalCommand {
    /// CUR (ANNCUR) retrieval against exact cross-encoder scores on a corpus slice: Top-k-Recall@m.
    Cur(crate::eval::cur::EvalCurArgs),
    /// Related papers: nDCG@5 / P@5 on judged pairs (--judgments), or known-item MRR@10 / Recall@1; cost per paper.
    // Boxed: the largest argument set, which would size every `Command`.
    Related(Box<crate::eval::related::EvalRelatedArgs>),
    /// "For you" on the relatedness judgments: a simulated reader's starred paper among a day of others.
    Foryou(crate::eval::foryou::EvalForYouArgs),
    /// Venue → arXiv linking: precision and recall of the matcher on a labelled sample from the corpus.
    VenueLink(crate::eval::venue_link::EvalVenueLinkArgs),
}

#[derive(Debug, Subcommand)]
pub enum RelatedCommand {
    /// Build (or resume building) the CUR index over the stored papers (k_q cross-encoder calls per paper).
    Index(crate::related::bulk::IndexArgs),
    /// Precompute missing or stale related lists, newest first; resumes after an interruption.
    Build(crate::related::bulk::BuildArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Source {
    Rss,
    Oai,
    Api,
    /// OpenReview (API v2 notes of one venue id): `--venue ICLR.cc/2025/Conference`.
    Openreview,
    /// ACL Anthology volume XML: `--volume 2024.acl-long`.
    Acl,
    /// PMLR volume BibTeX: `--volume 235`.
    Pmlr,
    /// CVF open access listing: `--conference CVPR2024`.
    Cvf,
}

impl From<Source> for crate::ingest::Source {
    fn from(s: Source) -> Self {
        match s {
            Source::Rss => crate::ingest::Source::Rss,
            Source::Oai => crate::ingest::Source::Oai,
            Source::Api => crate::ingest::Source::Api,
            Source::Openreview => crate::ingest::Source::Venue(VenueSource::OpenReview),
            Source::Acl => crate::ingest::Source::Venue(VenueSource::Acl),
            Source::Pmlr => crate::ingest::Source::Venue(VenueSource::Pmlr),
            Source::Cvf => crate::ingest::Source::Venue(VenueSource::Cvf),
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct IngestArgs {
    /// Which source; default: the daily feeds, or the API when --id is given.
    #[arg(long, value_enum)]
    pub source: Option<Source>,
    /// Categories (repeat the flag or list several); default: the followed categories.
    #[arg(long = "category", value_name = "CAT", num_args = 1.., action = clap::ArgAction::Append)]
    pub categories: Vec<Category>,
    /// First day to harvest (OAI-PMH `from`).
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub from: Option<NaiveDate>,
    /// Last day to harvest (OAI-PMH `until`).
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub until: Option<NaiveDate>,
    /// Papers to look up through the arXiv API.
    #[arg(long = "id", value_name = "ID", num_args = 1.., action = clap::ArgAction::Append)]
    pub ids: Vec<ArxivId>,
    /// OpenReview venue id (`--source openreview`), e.g. ICLR.cc/2025/Conference.
    #[arg(long, value_name = "VENUE_ID")]
    pub venue: Option<String>,
    /// ACL Anthology volume (`--source acl`, e.g. 2024.acl-long) or PMLR volume (`--source pmlr`, e.g. 235).
    #[arg(long, value_name = "VOLUME")]
    pub volume: Option<String>,
    /// CVF conference (`--source cvf`), e.g. CVPR2024.
    #[arg(long, value_name = "CONF")]
    pub conference: Option<String>,
}

impl IngestArgs {
    /// The run these flags ask for.
    /// A venue source's spec must come in its own flag (`--venue` for OpenReview, `--volume` for ACL and PMLR,
    /// `--conference` for CVF); without one, the run refreshes that source's followed venues.
    pub fn request(&self) -> Result<crate::ingest::IngestRequest, crate::venues::TargetError> {
        let spec = match self.source {
            Some(Source::Openreview) => self.venue.as_deref().map(|v| (VenueSource::OpenReview, v)),
            Some(Source::Acl) => self.volume.as_deref().map(|v| (VenueSource::Acl, v)),
            Some(Source::Pmlr) => self.volume.as_deref().map(|v| (VenueSource::Pmlr, v)),
            Some(Source::Cvf) => self.conference.as_deref().map(|v| (VenueSource::Cvf, v)),
            _ => None,
        };
        let venue = spec.map(|(source, v)| VenueTarget::new(source, v)).transpose()?;
        Ok(crate::ingest::IngestRequest {
            source: self.source.map(Into::into),
            categories: self.categories.clone(),
            from: self.from,
            until: self.until,
            ids: self.ids.clone(),
            venue,
        })
    }
}

#[cfg(feature = "research")]
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Import files into a fresh temporary data directory and report papers/s and peak RSS.
    Import {
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// Keep the data directory here instead of a temporary one.
        #[arg(long, value_name = "DIR")]
        keep: Option<PathBuf>,
    },
    /// Cross-encoder throughput on a pairs file (JSONL of query/document), one JSON line.
    Ce(crate::bench::ce::CeBenchArgs),
}

/// Runs the command line; the process exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            // One line: the reason, without clap's usage block.
            let text = e.to_string();
            eprintln!("{}", text.lines().next().unwrap_or("invalid arguments"));
            return ExitCode::from(2);
        }
    };
    init_tracing();
    // Pure CPU commands need neither the data directory nor the async runtime.
    let cpu_only: Option<anyhow::Result<()>> = match &cli.command {
        #[cfg(feature = "research")]
        Command::Bench(BenchCommand::Ce(args)) => Some(crate::bench::ce::run(args)),
        #[cfg(feature = "research")]
        Command::Eval(EvalCommand::Cur(args)) => Some(crate::eval::cur::run(args)),
        #[cfg(feature = "research")]
        Command::Eval(EvalCommand::Related(args)) => Some(crate::eval::related::run(args)),
        #[cfg(feature = "research")]
        Command::Eval(EvalCommand::Foryou(args)) => Some(crate::eval::foryou::run(args)),
        #[cfg(feature = "research")]
        Command::Eval(EvalCommand::VenueLink(args)) => Some(crate::eval::venue_link::run(args)),
        _ => None,
    };
    if let Some(result) = cpu_only {
        return match result {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::FAILURE
            }
        };
    }
    let mut config = match Config::load(cli.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    if let Some(dir) = cli.data_dir {
        config.data_dir = dir;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command, config)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// How often `serve` tries to bring an unwritable search index back (see `App::watch_index`).
const INDEX_RETRY: std::time::Duration = std::time::Duration::from_secs(30);

/// Builds the related papers' TF-IDF index in the background, loads the cross-encoder (the bundled one unless
/// configured otherwise) and starts its background jobs.
async fn start_related(app: &App) {
    let related = app.related.clone();
    crate::tasks::spawn_logged("related TF-IDF index", async move {
        if let Err(e) = related.build_lexicon().await {
            tracing::warn!("related papers' TF-IDF index not built (BM25 candidates only): {e}");
        }
    });
    if app.load_related_engine().await {
        // The embedding pass first (stored embeddings load in seconds; only papers without one are embedded,
        // a few minutes per 10,000 on 2 cores), so that queued lists are computed with the dense stage. It
        // runs in the background: pages are served meanwhile, with the stored lists.
        let related = app.related.clone();
        crate::tasks::spawn_logged("related embeddings and jobs", async move {
            if let Err(e) = related.prepare_embeddings().await {
                tracing::warn!("paper embeddings not ready (lists use those there are): {e}");
            }
            if let Err(e) = related.start_background().await {
                tracing::warn!("related-papers jobs not started: {e}");
            }
        });
    }
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("papertide=info,tower_http=warn"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}

async fn run(command: Command, config: Config) -> anyhow::Result<ExitCode> {
    match command {
        Command::Serve { addr, no_ingest } => {
            let mut config = config;
            let addr = addr.unwrap_or(config.server.addr);
            // The default public URL follows the address actually served.
            config.server.addr = addr;
            let app = App::open(config).await?;
            app.watch_index(INDEX_RETRY);
            start_related(&app).await;
            if !no_ingest {
                crate::ingest::scheduler::spawn(app.clone());
            }
            crate::web::serve(app.clone(), addr).await?;
            app.related.flush().await?;
        }
        Command::Ingest(args) => {
            // A venue that is not one, or a venue source with nothing to read, is a bad argument (exit 2).
            let req = match args.request() {
                Ok(req) => req,
                Err(e) => {
                    eprintln!("error: {e}");
                    return Ok(ExitCode::from(2));
                }
            };
            if let Some(crate::ingest::Source::Venue(v)) = req.source
                && let Err(e) = req.venue_targets(v, &config.venues.follow)
            {
                eprintln!("error: {e}");
                return Ok(ExitCode::from(2));
            }
            let app = App::open(config).await?;
            let summary = crate::ingest::run_once(&app, &req).await?;
            print!("{summary}");
            if let Some(why) = app.search_unavailable() {
                // Everything fetched is in the store; the index catches up at the next start with space.
                eprintln!("error: the search index was not updated: {why}");
                return Ok(ExitCode::FAILURE);
            }
            if !summary.errors.is_empty() {
                return Ok(ExitCode::FAILURE);
            }
        }
        Command::Import { files } => {
            let sources = files.iter().map(|f| ImportSource::open(f)).collect::<Result<Vec<_>, _>>()?;
            let app = App::open(config).await?;
            let summary = import::import(&app, sources, true).await?;
            print!("{summary}");
        }
        Command::Reindex => {
            let app = App::open(config).await?;
            let total = app.store.max_seq().await?;
            let bar = indicatif::ProgressBar::new(total.max(0) as u64);
            let stats = crate::search::reindex(&app.store, &app.indexer, crate::search::Table::Papers, |done, all| {
                bar.set_length(all);
                bar.set_position(done);
            })
            .await?;
            bar.finish_and_clear();
            let venues =
                crate::search::reindex(&app.store, &app.venue_indexer, crate::search::Table::Venues, |_, _| {}).await?;
            println!("reindexed {} papers and {} venue papers", stats.indexed, venues.indexed);
        }
        Command::Demo { addr } => {
            let mut config = config;
            let addr = addr.unwrap_or(config.server.addr);
            config.server.addr = addr;
            let app = App::open(config).await?;
            if app.store.paper_count().await? == 0 {
                println!("importing the bundled sample (3,256 real papers) into {}", app.config.data_dir.display());
                let summary = import::import(
                    &app,
                    vec![ImportSource::from_bytes("data/sample/papers.jsonl.gz", DEMO_SAMPLE)],
                    true,
                )
                .await?;
                print!("{summary}");
            }
            app.watch_index(INDEX_RETRY);
            start_related(&app).await;
            println!("Papertide demo: open http://{addr}/");
            crate::web::serve(app.clone(), addr).await?;
            app.related.flush().await?;
        }
        Command::Related(cmd) => {
            let app = App::open(config).await?;
            if !app.load_related_engine().await {
                anyhow::bail!(
                    "no cross-encoder could be loaded: the bundled model was not found or PAPERTIDE_RERANKER_MODEL \
                     (or [related] model) is `none` or unloadable; set it to a model directory or hub id"
                );
            }
            match cmd {
                RelatedCommand::Index(args) => {
                    let (n, pairs) =
                        crate::related::bulk::build_index(&app.related, &app.config.cur_index_path(), &args, true)
                            .await?;
                    println!(
                        "CUR index over {n} papers ({pairs} cross-encoder pairs this run) at {}",
                        app.config.cur_index_path().display()
                    );
                }
                RelatedCommand::Build(args) => {
                    app.related.build_lexicon().await?;
                    let embedded = app.related.prepare_embeddings().await?;
                    if embedded > 0 {
                        println!("embedded {embedded} papers (the model's embedding head)");
                    }
                    let s = crate::related::bulk::build_lists(&app.related, &args, true).await?;
                    println!(
                        "computed {} related lists ({} failed) in {:.1} s: {} CE pairs for rankings, {} for CUR appends",
                        s.computed, s.failed, s.seconds, s.ce_pairs, s.append_pairs
                    );
                    if s.failed > 0 {
                        return Ok(ExitCode::FAILURE);
                    }
                }
            }
        }
        #[cfg(feature = "research")]
        Command::Bench(BenchCommand::Import { files, keep }) => {
            crate::bench::import::import_bench(&files, keep.as_deref()).await?;
        }
        #[cfg(feature = "research")]
        Command::Bench(BenchCommand::Ce(_)) | Command::Eval(_) => unreachable!("handled before the runtime starts"),
    }
    Ok(ExitCode::SUCCESS)
}

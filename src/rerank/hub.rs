//! Resolving a model spec: a local directory, or a Hugging Face hub id downloaded into a cache directory through
//! a fetcher the caller injects (the project's HTTP client with its retry policy), so this module stays pure.

use super::RerankError;
use std::path::{Path, PathBuf};

/// Why a download failed: whatever error the injected fetcher has (the product's is
/// `net::http::FetchError`); this module only reports it, inside [`RerankError::Download`].
pub type FetchError = Box<dyn std::error::Error + Send + Sync>;

/// Downloads one URL into the given file (created or truncated) and returns the bytes written. Streaming to a
/// file keeps multi-GB weights out of memory.
pub type Fetch<'a> = &'a dyn Fn(&str, &Path) -> Result<u64, FetchError>;

/// The files a cross-encoder directory needs.
pub const MODEL_FILES: [&str; 3] = ["config.json", "model.safetensors", "tokenizer.json"];

/// Resolves `spec` to a model directory.
///
/// - an existing local directory is used as-is;
/// - otherwise `spec` must be a hub id (`owner/name`, optionally `owner/name@revision`); its files are fetched from
///   `{hub_base_url}/{id}/resolve/{revision or main}/{file}` into `cache_dir/{owner}--{name}[--revision]/`, each written
///   to a temporary file and renamed into place (so an interrupted download never leaves a truncated file);
///   files already present are not fetched again.
pub fn resolve_model(spec: &str, cache_dir: &Path, hub_base_url: &str, fetch: Fetch) -> Result<PathBuf, RerankError> {
    let local = Path::new(spec);
    if local.is_dir() {
        return Ok(local.to_path_buf());
    }
    let (id, rev) = match spec.split_once('@') {
        Some((i, r)) => (i, Some(r)),
        None => (spec, None),
    };
    let valid_part = |s: &str| {
        !s.is_empty() && s != "." && s != ".." && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    };
    let parts: Vec<&str> = id.split('/').collect();
    if parts.len() != 2 || !parts.iter().all(|p| valid_part(p)) || rev.is_some_and(|r| !valid_part(r)) {
        return Err(RerankError::Spec {
            spec: spec.to_string(),
            message: "neither an existing directory nor a Hugging Face hub id of the form owner/name[@revision]".into(),
        });
    }
    let rev_s = rev.unwrap_or("main");
    let mut dir_name = format!("{}--{}", parts[0], parts[1]);
    if let Some(r) = rev {
        dir_name.push_str("--");
        dir_name.push_str(r);
    }
    let dir = cache_dir.join(dir_name);
    std::fs::create_dir_all(&dir).map_err(|e| RerankError::io(&dir, e))?;
    let base = hub_base_url.trim_end_matches('/');
    for file in MODEL_FILES {
        let dest = dir.join(file);
        if dest.is_file() {
            continue;
        }
        let url = format!("{base}/{id}/resolve/{rev_s}/{file}");
        let tmp = dir.join(format!(".{file}.part{}", std::process::id()));
        let fail = |source: FetchError| {
            // A partial file is useless and must not be mistaken for a download.
            let _ = std::fs::remove_file(&tmp);
            RerankError::Download { file: file.to_string(), url: url.clone(), source }
        };
        match fetch(&url, &tmp) {
            Ok(0) => return Err(fail("empty response".into())),
            Ok(_) => {}
            Err(e) => return Err(fail(e)),
        }
        std::fs::rename(&tmp, &dest).map_err(|e| RerankError::io(&dest, e))?;
    }
    // The pair format is optional (models not trained by Papertide have none): fetched once; a failure
    // leaves a marker so the hub is not asked again at every start.
    let (fmt, absent) = (dir.join(super::format::FORMAT_FILE), dir.join("papertide.json.absent"));
    if !fmt.is_file() && !absent.is_file() {
        let url = format!("{base}/{id}/resolve/{rev_s}/{}", super::format::FORMAT_FILE);
        let tmp = dir.join(format!(".papertide.json.part{}", std::process::id()));
        match fetch(&url, &tmp) {
            Ok(n) if n > 0 => std::fs::rename(&tmp, &fmt).map_err(|e| RerankError::io(&fmt, e))?,
            _ => {
                let _ = std::fs::remove_file(&tmp);
                std::fs::write(&absent, b"").map_err(|e| RerankError::io(&absent, e))?;
            }
        }
    }
    Ok(dir)
}

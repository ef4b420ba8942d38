//! On-disk formats: the index file and the resumable partial `R` of an interrupted build.
//!
//! Index file (all numbers little-endian):
//! ```text
//! b"PTCURIDX"  u32 format_version  u32 header_len  header_len bytes of JSON (IndexMeta + k_q, k_i, n)
//! U  : k_i × k_q f32   (pinv(W), row-major)
//! Rᵀ : n × k_q  f32    (item-major)
//! Eᵀ : n × k_i  f32    (item-major)
//! ```
//! It is loaded with one read. A different format version, model id, max_length, text fields or anchor
//! set yields [`CurError::RebuildRequired`].
//!
//! Partial build: `<base>.r.f32` holds complete chunks of `Rᵀ`, `<base>.manifest.json` says how many
//! items are done and for which inputs; the manifest is replaced atomically after each chunk is synced.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::CurError;
use super::index::{CurIndex, IndexMeta, IndexSpec, item_means_of};

pub const MAGIC: &[u8; 8] = b"PTCURIDX";
/// Bumped whenever the layout or the meaning of a stored field changes.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
struct Header {
    k_q: usize,
    k_i: usize,
    n: usize,
    meta: IndexMeta,
}

fn f32s_to_le(out: &mut Vec<u8>, xs: &[f32]) {
    out.reserve(xs.len() * 4);
    for x in xs {
        out.extend_from_slice(&x.to_le_bytes());
    }
}

fn le_to_f32s(bytes: &[u8]) -> Vec<f32> {
    bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect()
}

fn with_suffix(base: &Path, suffix: &str) -> PathBuf {
    let mut s = base.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// Writes via a temporary file and rename, so a crash never leaves a torn file behind.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), CurError> {
    let tmp = with_suffix(path, ".tmp");
    let mut f = File::create(&tmp).map_err(|e| CurError::io(&tmp, e))?;
    f.write_all(bytes).map_err(|e| CurError::io(&tmp, e))?;
    f.sync_data().map_err(|e| CurError::io(&tmp, e))?;
    fs::rename(&tmp, path).map_err(|e| CurError::io(path, e))
}

impl CurIndex {
    pub fn save(&self, path: &Path) -> Result<(), CurError> {
        let header = Header { k_q: self.k_q(), k_i: self.k_i(), n: self.len(), meta: self.meta.clone() };
        let json = serde_json::to_vec(&header).map_err(|e| CurError::Invalid(e.to_string()))?;
        let mut out = Vec::with_capacity(16 + json.len() + 4 * (self.u.len() + self.rt.len() + self.e.len()));
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&(json.len() as u32).to_le_bytes());
        out.extend_from_slice(&json);
        f32s_to_le(&mut out, &self.u);
        f32s_to_le(&mut out, &self.rt);
        f32s_to_le(&mut out, &self.e);
        write_atomic(path, &out)
    }

    /// Loads an index and checks it against what the caller runs now. `expect.anchor_query_ids` empty
    /// means "any anchor queries".
    pub fn load(path: &Path, expect: &IndexSpec) -> Result<CurIndex, CurError> {
        let bytes = fs::read(path).map_err(|e| CurError::io(path, e))?;
        let p = path.display().to_string();
        let format = |reason: &str| CurError::Format { path: p.clone(), reason: reason.to_string() };
        let rebuild = |reason: String| CurError::RebuildRequired { path: p.clone(), reason };
        if bytes.len() < 16 || &bytes[..8] != MAGIC {
            return Err(format("bad magic"));
        }
        let version = u32::from_le_bytes(bytes[8..12].try_into().unwrap());
        if version != FORMAT_VERSION {
            return Err(rebuild(format!("format version {version}, this build reads {FORMAT_VERSION}")));
        }
        let hlen = u32::from_le_bytes(bytes[12..16].try_into().unwrap()) as usize;
        let body = bytes.get(16..16 + hlen).ok_or_else(|| format("truncated header"))?;
        let header: Header = serde_json::from_slice(body).map_err(|e| format(&format!("header: {e}")))?;
        let spec = &header.meta.spec;
        if spec.model_id != expect.model_id {
            return Err(rebuild(format!("built with model {}, now {}", spec.model_id, expect.model_id)));
        }
        if spec.max_length != expect.max_length {
            return Err(rebuild(format!("built at max_length {}, now {}", spec.max_length, expect.max_length)));
        }
        if (spec.query_field.as_str(), spec.item_field.as_str())
            != (expect.query_field.as_str(), expect.item_field.as_str())
        {
            return Err(rebuild(format!(
                "built on ({}, {}) texts, now ({}, {})",
                spec.query_field, spec.item_field, expect.query_field, expect.item_field
            )));
        }
        if !expect.anchor_query_ids.is_empty() && spec.anchor_query_ids != expect.anchor_query_ids {
            return Err(rebuild("the anchor query papers changed".into()));
        }
        let (k_q, k_i, n) = (header.k_q, header.k_i, header.n);
        if k_q != spec.anchor_query_ids.len()
            || k_i != header.meta.anchor_item_ids.len()
            || n != header.meta.item_ids.len()
        {
            return Err(format("header sizes disagree"));
        }
        let data = &bytes[16 + hlen..];
        let sizes = [k_i * k_q, n * k_q, n * k_i];
        if data.len() != 4 * sizes.iter().sum::<usize>() {
            return Err(format("matrix data has the wrong length"));
        }
        let (u, rest) = data.split_at(4 * sizes[0]);
        let (rt, e) = rest.split_at(4 * sizes[1]);
        let pos: HashMap<String, usize> =
            header.meta.item_ids.iter().enumerate().map(|(i, id)| (id.clone(), i)).collect();
        let anchor_item_pos = header
            .meta
            .anchor_item_ids
            .iter()
            .map(|id| pos.get(id).copied().ok_or_else(|| format("anchor not an item")))
            .collect::<Result<Vec<_>, _>>()?;
        let rt = le_to_f32s(rt);
        let means = item_means_of(&rt, k_q);
        Ok(CurIndex { meta: header.meta, pos, anchor_item_pos, u: le_to_f32s(u), rt, e: le_to_f32s(e), means })
    }
}

/// What a partial `R` was computed for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartialManifest {
    pub format_version: u32,
    pub spec: IndexSpec,
    pub items_fingerprint: String,
    pub n_items: usize,
    pub chunk_items: usize,
    pub items_done: usize,
}

impl PartialManifest {
    fn same_inputs(&self, other: &PartialManifest) -> bool {
        self.format_version == other.format_version
            && self.spec == other.spec
            && self.items_fingerprint == other.items_fingerprint
            && self.n_items == other.n_items
    }
}

/// A stable fingerprint of an ordered id list (FNV-1a over the ids, with their count).
pub fn fingerprint(ids: &[String]) -> String {
    let mut h = 0u64;
    for id in ids {
        h = super::synthetic::fnv1a(id.as_bytes(), h);
    }
    format!("{:016x}-{}", h, ids.len())
}

pub struct PartialWriter {
    data: File,
    data_path: PathBuf,
    manifest_path: PathBuf,
}

/// Opens (or starts) the partial files at `base`. Returns the writer and the complete `Rᵀ` values
/// already on disk for these inputs (none when the inputs differ or nothing is there).
pub fn open_partial(base: &Path, fresh: &PartialManifest) -> Result<(PartialWriter, Vec<f32>), CurError> {
    let data_path = with_suffix(base, ".r.f32");
    let manifest_path = with_suffix(base, ".manifest.json");
    if let Some(dir) = base.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir).map_err(|e| CurError::io(dir, e))?;
    }
    let old: Option<PartialManifest> =
        fs::read(&manifest_path).ok().and_then(|b| serde_json::from_slice(&b).ok()).filter(|m| fresh.same_inputs(m));
    let mut data = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&data_path)
        .map_err(|e| CurError::io(&data_path, e))?;
    let k_q = fresh.spec.anchor_query_ids.len();
    let mut existing = Vec::new();
    let done = old.map_or(0, |m| m.items_done.min(fresh.n_items));
    let keep = (done * k_q * 4) as u64;
    let have = data.metadata().map_err(|e| CurError::io(&data_path, e))?.len();
    let done = if have >= keep { done } else { 0 };
    let keep = (done * k_q * 4) as u64;
    if done > 0 {
        let mut buf = vec![0u8; keep as usize];
        data.read_exact(&mut buf).map_err(|e| CurError::io(&data_path, e))?;
        existing = le_to_f32s(&buf);
    }
    // Drop any torn tail written after the last manifest update.
    data.set_len(keep).map_err(|e| CurError::io(&data_path, e))?;
    data.seek(SeekFrom::Start(keep)).map_err(|e| CurError::io(&data_path, e))?;
    let mut m = fresh.clone();
    m.items_done = done;
    let bytes = serde_json::to_vec_pretty(&m).map_err(|e| CurError::Invalid(e.to_string()))?;
    write_atomic(&manifest_path, &bytes)?;
    Ok((PartialWriter { data, data_path, manifest_path }, existing))
}

/// Appends one complete chunk and then records it in the manifest.
pub fn append_partial(w: &mut PartialWriter, chunk: &[f32], manifest: &PartialManifest) -> Result<(), CurError> {
    let mut bytes = Vec::new();
    f32s_to_le(&mut bytes, chunk);
    w.data.write_all(&bytes).map_err(|e| CurError::io(&w.data_path, e))?;
    w.data.sync_data().map_err(|e| CurError::io(&w.data_path, e))?;
    let m = serde_json::to_vec_pretty(manifest).map_err(|e| CurError::Invalid(e.to_string()))?;
    write_atomic(&w.manifest_path, &m)
}

/// Removes the partial files once the build has finished.
pub fn remove_partial(base: &Path) {
    let _ = fs::remove_file(with_suffix(base, ".r.f32"));
    let _ = fs::remove_file(with_suffix(base, ".manifest.json"));
}

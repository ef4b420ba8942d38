#!/usr/bin/env bash
# Web benchmark: imports the whole shared corpus into a temporary data directory (release build), serves it
# with live ingest off, and drives it with wrk (64 connections, 30 s each) on a listing page, a paper page and
# a search. Prints requests/s, p99 latency, errors and the server's resident memory; then times the listing in
# "For you" order (100 stars, 3 terms) as one reader would request it.
#
#   scripts/bench_web.sh [CORPUS.jsonl.gz]        (default: ../shared/data/arxiv-cs-2025-2026.jsonl.gz)
#   KEEP=/tmp/dir scripts/bench_web.sh            reuse (or keep) the imported data directory
#   DURATION=30s CONNECTIONS=64 THREADS=2         wrk settings
#   PAPERTIDE_RERANKER_MODEL=DIR                   also: compute the paper's related list, then bench the paper
#                                                  page with its stored list and /api/papers/{id}/related
set -euo pipefail
cd "$(dirname "$0")/.."

corpus=${1:-}
if [ -z "$corpus" ]; then
  for c in ../shared/data/arxiv-cs-2025-2026.jsonl.gz /work/shared/data/arxiv-cs-2025-2026.jsonl.gz; do
    [ -f "$c" ] && corpus=$c && break
  done
fi
[ -n "$corpus" ] && [ -f "$corpus" ] || { echo "no corpus found: pass the path of arxiv-cs-2025-2026.jsonl.gz" >&2; exit 2; }
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 2; }

duration=${DURATION:-30s}; conns=${CONNECTIONS:-64}; threads=${THREADS:-2}
cargo build --release --quiet
bin=target/release/papertide
data=${KEEP:-$(mktemp -d)}
if [ ! -f "$data/papertide.sqlite" ]; then
  echo "== importing $corpus into $data"
  /usr/bin/time -f "import: %e s, max RSS %M KiB" "$bin" --data-dir "$data" import "$corpus"
fi

port=$(( 20000 + RANDOM % 20000 ))
addr=127.0.0.1:$port
RUST_LOG=warn "$bin" --data-dir "$data" serve --no-ingest --addr "$addr" >"$data/serve.log" 2>&1 &
server=$!
cleanup() { kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; [ -n "${KEEP:-}" ] || rm -rf "$data"; }
trap cleanup EXIT
for _ in $(seq 1 300); do curl -fs "http://$addr/healthz" >/dev/null 2>&1 && break; sleep 0.2; done
curl -fs "http://$addr/healthz"; echo

# A busy listing (the followed categories together, latest day), a paper from it, and a common search.
listing="/arxiv/cs.AI,cs.CL,cs.CV,cs.LG"
paper_id=$(curl -fs "http://$addr/api/arxiv/cs.LG?show=1" | sed -n 's/.*"papers":\[{[^}]*"id":"\([^"]*\)".*/\1/p' | head -1)
[ -n "$paper_id" ] || paper_id=$(curl -fs "http://$addr/api/search?query=transformer&limit=1" | sed -n 's/.*"id":"\([^"]*\)".*/\1/p')
search="/arxiv/search?query=diffusion+model"
targets=("$listing" "/arxiv/$paper_id" "$search")
if [ -n "${PAPERTIDE_RERANKER_MODEL:-}" ]; then
  # First view queues the related list; wait until the stored, reranked list is served.
  for _ in $(seq 1 600); do
    curl -fs "http://$addr/api/papers/$paper_id/related" | grep -q '"status":"ready"' && break; sleep 0.5
  done
  curl -fs "http://$addr/api/papers/$paper_id/related" | grep -q '"reranked":true' || { echo "related list not ready" >&2; exit 1; }
  targets+=("/api/papers/$paper_id/related")
fi

echo "== machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
printf "%-40s %10s %10s %8s %10s\n" target req/s p99 errors rss_mib
for path in "${targets[@]}"; do
  curl -fs -o /dev/null "http://$addr$path"   # warm
  out=$(wrk -t"$threads" -c"$conns" -d"$duration" --latency "http://$addr$path")
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  errs=$(awk '/Socket errors/ {gsub(/,/, ""); n += $4+$6+$8+$10} /Non-2xx/ {n += $5} END {print n+0}' <<<"$out")
  rss=$(awk '/VmRSS/ {printf "%.0f", $2/1024}' "/proc/$server/status")
  printf "%-40s %10s %10s %8s %10s\n" "$path" "$rps" "$p99" "${errs:-0}" "$rss"
done
echo "== load after: $(cut -d' ' -f1-3 /proc/loadavg)"

# "For you": the same listing ordered by 100 starred papers and 3 preference terms. One reader's requests, one
# after another (the per-client limit would refuse wrk's flood): the time a reader waits, target <= 1 s.
stars=$(curl -fs "http://$addr/api/search?query=learning&limit=100" | grep -o '"id":"[^"]*"' | cut -d'"' -f4 | paste -sd, -)
n_stars=$(tr ',' '\n' <<<"$stars" | grep -c .)
# The busiest of the listing's last 60 days.
best_day=""; n_day=0
for d in $(curl -fs "http://$addr/api$listing?show=1" | grep -o '"days":\[[^]]*\]' | grep -o '[0-9-]\{10\}' | head -60); do
  n=$(curl -fs "http://$addr$listing?date=$d&show=1" | grep -o 'data-total="[0-9]*"' | head -1 | grep -o '[0-9]*')
  if [ "${n:-0}" -gt "$n_day" ]; then n_day=$n; best_day=$d; fi
done
fy="$listing?date=$best_day&order=foryou&stars=$stars&prefer=diffusion,graph,retrieval"
curl -fs -o /dev/null "http://$addr$fy"   # warm (the first ordering may wait for the TF-IDF index)
times=$(for _ in $(seq 1 20); do curl -fs -o /dev/null -w '%{time_total}\n' "http://$addr$fy"; done | sort -n)
echo "== For you: $best_day, ${n_day} papers, ordered by $n_stars stars + 3 terms, 20 sequential requests:" \
  "median $(sed -n 10p <<<"$times") s, max $(tail -1 <<<"$times") s"

#!/usr/bin/env bash
# Cross-encoder throughput: Papertide's engine vs the PyTorch CPU baseline, back to back on the same pairs.
#
#   scripts/bench_ce.sh [LIMIT]            (default LIMIT 512; lengths 128 and 256; f32 and bf16; batch 32; 2 threads)
#
# Environment:
#   MODEL, PAIRS          default ../shared/models/ce-arxiv-minilm-l6 and ../shared/data/ce-bench-pairs.jsonl
#   THREADS               default 2
#   PAPERTIDE_BENCH       command for our side, default "target/release/papertide bench ce" (built if missing)
#   PYTHON                default python3 (needs torch + transformers)
#   TORCH_LD_LIBRARY_PATH prepended to LD_LIBRARY_PATH for PyTorch only (e.g. stub CUDA libraries when only the
#                         CUDA wheel of torch is installed on a machine without CUDA)
# Prints each JSON line, then a table of pairs/s and the ratio Papertide / PyTorch.
set -euo pipefail
cd "$(dirname "$0")/.."
LIMIT=${1:-512}
MODEL=${MODEL:-../shared/models/ce-arxiv-minilm-l6}
PAIRS=${PAIRS:-../shared/data/ce-bench-pairs.jsonl}
THREADS=${THREADS:-2}
PYTHON=${PYTHON:-python3}
TORCH_BENCH=${TORCH_BENCH:-../shared/tools/ce_bench_torch.py}
if [[ -z "${PAPERTIDE_BENCH:-}" ]]; then
  cargo build --release --quiet --bin papertide
  PAPERTIDE_BENCH="target/release/papertide bench ce"
fi
for f in "$MODEL/config.json" "$PAIRS" "$TORCH_BENCH"; do
  [[ -e "$f" ]] || { echo "missing $f" >&2; exit 1; }
done
# torch.cuda.is_current_stream_capturing() crashes a CUDA build of torch without a GPU driver; the baseline runs
# on the CPU, so the probe is answered "no" (it changes nothing else).
run_torch() {
  LD_LIBRARY_PATH="${TORCH_LD_LIBRARY_PATH:+$TORCH_LD_LIBRARY_PATH:}${LD_LIBRARY_PATH:-}" "$PYTHON" -c '
import runpy, sys, torch
torch.cuda.is_current_stream_capturing = lambda: False
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")' "$TORCH_BENCH" "$MODEL" "$PAIRS" "$@" 2>/dev/null | tail -1
}
field() { "$PYTHON" -c 'import json,sys; print(json.loads(sys.argv[1]).get(sys.argv[2], ""))' "$1" "$2"; }
echo "# $(date -u +%FT%TZ) $(uptime)"
rows=()
for L in 128 256; do
  for DT in f32 bf16; do
    ours=$($PAPERTIDE_BENCH --model "$MODEL" --pairs "$PAIRS" --max-length "$L" --batch-size 32 --threads "$THREADS" --dtype "$DT" --limit "$LIMIT")
    echo "$ours"
    theirs=$(run_torch --max-length "$L" --batch-size 32 --threads "$THREADS" --dtype "$DT" --limit "$LIMIT")
    echo "$theirs"
    a=$(field "$ours" pairs_per_s); b=$(field "$theirs" pairs_per_s)
    r=$("$PYTHON" -c "import sys; a,b=sys.argv[1:]; print(f'{float(a)/float(b):.2f}' if a and b else 'n/a')" "$a" "${b:-}")
    rows+=("$L $DT $a ${b:-n/a} $r $(field "$ours" peak_rss_mb)")
  done
done
echo "# $(uptime)"
printf '%-10s %-5s %12s %12s %7s %9s\n' max_length dtype papertide pytorch ratio rss_mb
for row in "${rows[@]}"; do printf '%-10s %-5s %12s %12s %7s %9s\n' $row; done

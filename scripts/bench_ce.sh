#!/usr/bin/env bash
# Cross-encoder throughput: Papertide's engine vs the PyTorch CPU baseline, back to back on the same pairs.
#
#   scripts/bench_ce.sh [LIMIT]            (default LIMIT 512; lengths 128 and 256; batch 32; 2 threads)
#
# Environment:
#   MODEL, PAIRS          default ../shared/models/ce-arxiv-minilm-l6 and ../shared/data/ce-bench-pairs.jsonl
#   THREADS               default 2
#   LENGTHS               default "128 256"
#   DTYPES                default "f32 bf16" when the CPU has native bf16 (AVX-512 BF16 or AMX), else "f32": without
#                         it our bf16 runs f32 (see EngineOptions) and PyTorch's bf16 is emulated, so a bf16 row would
#                         compare unlike things
#   ISAS                  our kernel paths to measure (PAPERTIDE_CE_ISA values, e.g. "avx2 generic"); default: the
#                         one the engine detects
#   PAPERTIDE_BENCH       command for our side, default "target/release/papertide bench ce" (built if missing)
#   PYTHON                default python3 (needs torch + transformers)
#   TORCH_LD_LIBRARY_PATH prepended to LD_LIBRARY_PATH for PyTorch only (e.g. stub CUDA libraries when only the
#                         CUDA wheel of torch is installed on a machine without CUDA)
# Prints the CPU, each JSON line, then one table: kernel path, pairs/s ours and PyTorch's, ratio, our peak RSS.
set -euo pipefail
cd "$(dirname "$0")/.."
LIMIT=${1:-512}
MODEL=${MODEL:-../shared/models/ce-arxiv-minilm-l6}
PAIRS=${PAIRS:-../shared/data/ce-bench-pairs.jsonl}
THREADS=${THREADS:-2}
LENGTHS=${LENGTHS:-128 256}
PYTHON=${PYTHON:-python3}
TORCH_BENCH=${TORCH_BENCH:-../shared/tools/ce_bench_torch.py}
if [[ -z "${PAPERTIDE_BENCH:-}" ]]; then
  cargo build --release --quiet --bin papertide
  PAPERTIDE_BENCH="target/release/papertide bench ce"
fi
for f in "$MODEL/config.json" "$PAIRS" "$TORCH_BENCH"; do
  [[ -e "$f" ]] || { echo "missing $f" >&2; exit 1; }
done
cpu_flags=$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null | cut -d: -f2 || true)
if [[ -z "${DTYPES:-}" ]]; then
  DTYPES=f32
  if [[ " $cpu_flags " == *" avx512_bf16 "* || " $cpu_flags " == *" amx_bf16 "* ]]; then DTYPES="f32 bf16"; fi
fi
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
echo "# cpu: $(grep -m1 '^model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//')"
echo "# simd flags: $(for f in $cpu_flags; do case $f in avx|avx2|fma|f16c|avx512*|avx_vnni|amx*) printf '%s ' "$f";; esac; done)"
echo "# threads $THREADS, batch 32, $LIMIT pairs, dtypes: $DTYPES"
rows=()
for L in $LENGTHS; do
  for DT in $DTYPES; do
    theirs=$(run_torch --max-length "$L" --batch-size 32 --threads "$THREADS" --dtype "$DT" --limit "$LIMIT")
    echo "$theirs"
    b=$(field "$theirs" pairs_per_s)
    for ISA in ${ISAS:-auto}; do
      [[ "$ISA" == auto ]] && isa_env=() || isa_env=(PAPERTIDE_CE_ISA="$ISA")
      ours=$(env "${isa_env[@]}" $PAPERTIDE_BENCH --model "$MODEL" --pairs "$PAIRS" --max-length "$L" \
        --batch-size 32 --threads "$THREADS" --dtype "$DT" --limit "$LIMIT")
      echo "$ours"
      a=$(field "$ours" pairs_per_s)
      r=$("$PYTHON" -c "import sys; a,b=sys.argv[1:]; print(f'{float(a)/float(b):.2f}' if a and b else 'n/a')" "$a" "${b:-}")
      path=$(field "$ours" kernel_path)
      rows+=("$L|$DT|${path// /_}|$a|${b:-n/a}|$r|$(field "$ours" peak_rss_mb)")
    done
  done
done
echo "# $(uptime)"
printf '%-10s %-5s %-12s %10s %10s %6s %8s\n' max_length dtype kernel_path papertide pytorch ratio rss_mb
for row in "${rows[@]}"; do IFS='|' read -r -a c <<<"$row"; printf '%-10s %-5s %-12s %10s %10s %6s %8s\n' "${c[@]}"; done

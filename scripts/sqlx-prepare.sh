#!/usr/bin/env bash
# Regenerates .sqlx/ (the query metadata the checked SQL macros build from, committed so builds need no
# database) from a scratch database migrated to migrations/. `--check` only verifies that .sqlx/ is current,
# as CI does. Needs sqlx-cli 0.9 (`cargo install sqlx-cli --version 0.9.0 --no-default-features --features sqlite`).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
export DATABASE_URL="sqlite:$dir/papertide.db" SQLX_OFFLINE=false
sqlx database create
sqlx migrate run --source migrations >/dev/null
cargo sqlx prepare "$@" -- --all-targets --locked

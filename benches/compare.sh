#!/usr/bin/env bash
# The load comparison against the hand-written axum limit, with the shared
# harness in ../shared/bench (wrk, pinned cores, interleaved rounds).
#
#   benches/compare.sh [--rounds N] [--duration S] ...   (options as compare.sh)
#
# Builds the release binary first.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
shared="$root/../shared/bench"
[[ -x $shared/compare.sh ]] || { echo "benches/compare.sh: $shared not found" >&2; exit 2; }

(cd "$root" && cargo build --release --locked -q)
"$shared/compare.sh" "$@" -- "$root/target/release/gateway" --addr '127.0.0.1:{PORT}' --database '{DIR}/users.db'

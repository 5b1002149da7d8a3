#!/usr/bin/env bash
# The load comparison against the hand-written axum limit, with the shared
# harness in ../shared/bench (wrk, pinned cores, interleaved rounds).
#
#   benches/compare.sh [--rounds N] [--duration S] ...   (options as compare.sh)
#
# The shared seeder accepts only 200 for POST /v1/users, while this API
# answers 201 Created (declared in the proto); the harness is copied to a
# temporary directory and its seeder told that any 2xx is success. Nothing
# else changes. Builds the release binary first.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
shared="$root/../shared/bench"
[[ -x $shared/compare.sh ]] || { echo "benches/compare.sh: $shared not found" >&2; exit 2; }

harness="$(mktemp -d)"
trap 'rm -rf "$harness"' EXIT
cp -r "$shared/." "$harness/"
sed -i 's/if status != 200:/if not 200 <= status < 300:/' "$harness/lib/seed.py"
grep -q 'if not 200 <= status < 300:' "$harness/lib/seed.py" || { echo "seeder patch failed" >&2; exit 1; }

(cd "$root" && cargo build --release --locked -q)
"$harness/compare.sh" "$@" -- "$root/target/release/gateway" --addr '127.0.0.1:{PORT}' --database '{DIR}/users.db'

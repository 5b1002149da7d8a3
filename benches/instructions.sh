#!/usr/bin/env bash
# Instructions per W1 request (GET /v1/users/{id}) of a gateway binary, counted by callgrind:
# noise-free, unlike a timing, so it compares builds on a busy machine.
#
#   benches/instructions.sh target/release/gateway            # tokens not checked
#   benches/instructions.sh target/release/gateway --auth     # an HS256 secret; every call with a bearer token
#
# Needs valgrind, wrk and curl; builds examples/token for --auth.
set -euo pipefail
bin=$1; mode=${2:-}
port=18555
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
flags=(--addr "127.0.0.1:$port" --database "$dir/users.db")
auth=()
if [[ $mode == --auth ]]; then
  head -c 32 /dev/urandom | base64 > "$dir/secret"
  flags+=(--jwt-hs256-secret-file "$dir/secret")
fi
valgrind --tool=callgrind --callgrind-out-file="$dir/cg.out" "$bin" "${flags[@]}" > "$dir/log" 2>&1 &
vg=$!
for _ in $(seq 100); do curl -sf "localhost:$port/healthz" > /dev/null 2>&1 && break; sleep 0.5; done
if [[ $mode == --auth ]]; then
  token=$(cargo run -q --release --example token -- --secret-file "$dir/secret" --sub bench --role admin)
  auth=(-H "Authorization: Bearer $token")
fi
id=$(curl -s -X POST "localhost:$port/v1/users" "${auth[@]}" -H 'Content-Type: application/json' \
  -d '{"name":"Ada","email":"ada@example.com"}' | python3 -c 'import sys,json;print(json.load(sys.stdin)["id"])')
url="http://127.0.0.1:$port/v1/users/$id"
wrk -t1 -c4 -d3s "${auth[@]}" "$url" > /dev/null
callgrind_control -z "$vg" > /dev/null 2>&1
out=$(wrk -t1 -c4 -d8s "${auth[@]}" "$url")
callgrind_control -d "$vg" > /dev/null 2>&1
requests=$(echo "$out" | awk '/requests in/ {print $1}')
if echo "$out" | grep -q Non-2xx; then echo "some answers were not 2xx: $out" >&2; exit 1; fi
sleep 1
total=$(for f in "$dir"/cg.out*; do grep -m1 "^summary:\|^totals:" "$f" | awk '{print $2}'; done | sort -n | tail -1)
kill "$vg"; wait "$vg" 2>/dev/null || true
echo "requests $requests instructions $total per-request $((total / requests))"

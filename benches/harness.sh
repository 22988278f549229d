#!/usr/bin/env bash
# Every benchmark of benches/README.md in one run, so that every figure has its baselines from the same minutes
# on the same (noisy, two-core) machine:
#   - the callback peers of ../shared/peers (node `wechat` under a 2-process cluster, wechatpy under gunicorn),
#     capacity and latency at the node peer's capacity, with the same kind of messages as ours;
#   - ours, on SQLite + memory and on PostgreSQL + Redis: callback_load (at the node peer's rate for latency),
#     draw_load (with BENCH_HOLD_CONNECTIONS connections held open, then the oversell check), quiz_load and
#     push_load (deliveries to a local fake WeChat against the bare fake, job reports against /healthz);
#   - draw_load again on a local three-master Redis Cluster (scripts/redis-cluster.sh).
# Each table row has the server's CPU and peak RSS, sampled by the load tool (benches/load.rs), which shares the
# two cores with the server.
#   benches/harness.sh 2>&1 | tee /tmp/harness.txt
# Knobs: BENCH_SECONDS (10), BENCH_CONNECTIONS (256), BENCH_HOLD_CONNECTIONS (10000), PEERS=0 to skip the peers.
set -euo pipefail
root=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
cd "$root"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/wxcampaign-target}
export BENCH_SECONDS=${BENCH_SECONDS:-10}
export BENCH_CONNECTIONS=${BENCH_CONNECTIONS:-256}
hold=${BENCH_HOLD_CONNECTIONS:-10000}
pg_admin=postgres://postgres@127.0.0.1:5432/postgres
redis_url=redis://127.0.0.1:6379
# 10,000 sockets in the load tool and as many in the server, each a process of its own.
ulimit -n "$(ulimit -Hn)"
[ "$(ulimit -n)" -ge $((hold + 1000)) ] || { echo "need $((hold + 1000)) open files, have $(ulimit -n)" >&2; exit 1; }

echo "# harness run $(date -u +%FT%TZ), commit $(git rev-parse --short HEAD)$(git diff --quiet || echo ' (dirty)')"
echo "machine: $(nproc) cores, $(free -g | awk '/Mem/ {print $2}') GiB; kernel $(uname -r)"

bins=$(mktemp -d)
# Whatever a failed run leaves (peers, the cluster, bench databases) goes with it.
cleanup() {
  jobs -p | xargs -r kill 2>/dev/null || true
  scripts/redis-cluster.sh stop 7201 >/dev/null 2>&1 || true
  psql "$pg_admin" -Atc "select datname from pg_database where datname like 'wxc_bench_%'" 2>/dev/null |
    while read -r db; do psql "$pg_admin" -qc "drop database if exists \"$db\"" >/dev/null 2>&1; done
  rm -rf "$bins"
}
trap cleanup EXIT
cargo bench -q --no-run --message-format=json 2>/dev/null | python3 -c 'import json,sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("executable") and "bench" in m.get("target", {}).get("kind", []):
        print(m["target"]["name"], m["executable"])' |
  while read -r name exe; do cp "$exe" "$bins/$name"; done
export BENCH_LOAD_BIN="$bins/load"

row() { # the load tool's JSON -> one table row, as the bench binaries print them
  python3 -c 'import json,sys
f = json.loads(sys.stdin.read())
rate = "closed" if f["rate"] is None else "%.0f/s" % f["rate"]
print("| %s | %d | %s | %.0f req/s | %.2f ms | %.2f ms | %.2f ms | %d | %.0f%% | %.0f MB |" % (f["label"], f["connections"], rate,
      f["req_per_s"], f["p50_ms"], f["p99_ms"], f["p999_ms"], f["errors"] + f["non_2xx"],
      f.get("watched_cpu_percent") or float("nan"), f.get("watched_peak_rss_mb") or float("nan")))'
}
header() {
  printf '\n%s\n\n' "$1"
  echo "| endpoint | connections | offered | throughput | p50 | p99 | p99.9 | failures | server CPU | server peak RSS |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
}
wait_http() { for _ in $(seq 1 100); do curl -fs "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done; echo "$1 did not answer" >&2; return 1; }

node_rate=""
if [ "${PEERS:-1}" != 0 ]; then
  peers=$(bash ../shared/peers/setup.sh 2>/dev/null | tail -n 1)
  (cd "$peers" && venv/bin/python gen_messages.py 200000 /wechat peers.lua >/dev/null)
  messages="$peers/peers.lua.data"
  peer() { # label port pid
    local json
    json=$("$BENCH_LOAD_BIN" --url "http://127.0.0.1:$2" --label "$1" --requests "$messages" --no-repeat \
      --connections "$BENCH_CONNECTIONS" --duration-secs "$BENCH_SECONDS" --watch-pid "$3")
    echo "$json" | row
    echo "$json" >"$bins/last.json"
  }
  header "callback peers ($BENCH_CONNECTIONS connections, $BENCH_SECONDS s per run; the load tool shares the two cores)"
  (cd "$peers" && NODE_ENV=production WORKERS=2 PORT=8002 exec node node/server.js >/dev/null 2>&1) &
  node_pid=$!
  sleep 1; wait_http http://127.0.0.1:8002/hello || true
  peer "node wechat 2.1 + express, cluster x2" 8002 "$node_pid"
  node_rate=$(python3 -c 'import json; print(int(json.load(open("'"$bins/last.json"'"))["req_per_s"]))')
  "$BENCH_LOAD_BIN" --url http://127.0.0.1:8002 --label "node peer at its own capacity" --requests "$messages" \
    --no-repeat --connections "$BENCH_CONNECTIONS" --duration-secs "$BENCH_SECONDS" --rate "$node_rate" \
    --watch-pid "$node_pid" | row
  kill "$node_pid"; wait "$node_pid" 2>/dev/null || true
  (cd "$peers" && exec venv/bin/gunicorn -w 2 -b 127.0.0.1:8001 app:app >/dev/null 2>&1) &
  gunicorn_pid=$!
  wait_http http://127.0.0.1:8001/hello
  peer "wechatpy 1.8.18 + Flask, gunicorn sync x2" 8001 "$gunicorn_pid"
  kill "$gunicorn_pid"; wait "$gunicorn_pid" 2>/dev/null || true
fi

# The bench's keys (prefix wxcbench_) go when it ends: left behind, millions of them slow every later KEYS/SCAN.
drop_bench_keys() {
  redis-cli -u "${1:-$redis_url}" --scan --pattern 'wxcbench_*' | xargs -r -n 1000 redis-cli -u "${1:-$redis_url}" unlink >/dev/null
}

ours() { # mode bench [env...]
  local mode=$1 bench=$2; shift 2
  if [ "$mode" = pg ]; then
    local db=wxc_bench_$RANDOM$RANDOM
    psql "$pg_admin" -qc "create database $db" >/dev/null
    env BENCH_DATABASE_URL="postgres://postgres@127.0.0.1:5432/$db" BENCH_REDIS_URL="${STORE_URL:-$redis_url}" "$@" \
      "$bins/$bench" --bench
    psql "$pg_admin" -qc "drop database $db" >/dev/null
    [ -n "${STORE_URL:-}" ] || drop_bench_keys
  else
    env "$@" "$bins/$bench" --bench
  fi
}

for mode in sqlite pg; do
  echo; echo "## ours, $([ $mode = pg ] && echo 'PostgreSQL + Redis' || echo 'SQLite + memory')"
  ours "$mode" callback_load ${node_rate:+BENCH_CALLBACK_RATE=$node_rate}
  ours "$mode" draw_load BENCH_HOLD_CONNECTIONS="$hold"
  ours "$mode" quiz_load
  ours "$mode" push_load
done

echo; echo "## ours, PostgreSQL + a three-master Redis Cluster"
cluster=$(scripts/redis-cluster.sh start 7201)
STORE_URL=$cluster ours pg draw_load BENCH_HOLD_CONNECTIONS=0
scripts/redis-cluster.sh stop 7201

#!/usr/bin/env bash
# A local Redis Cluster of three masters on loopback (no replicas, nothing kept on disk), for the store's
# conformance suite and the draw benchmark.
#   scripts/redis-cluster.sh start [FIRST_PORT]   starts it (ports FIRST_PORT..+2, default 7101) and prints its
#                                                 store URL: redis+cluster://127.0.0.1:7101,...
#   scripts/redis-cluster.sh stop [FIRST_PORT]    stops it and removes its files
# A start first stops a cluster this script left on the same ports; a port held by anything else is an error.
set -euo pipefail

action=${1:-start}
first=${2:-7101}
ports=("$first" "$((first + 1))" "$((first + 2))")
dir="${REDIS_CLUSTER_DIR:-/tmp/wxc-redis-cluster-$first}"

answers() { redis-cli -h 127.0.0.1 -p "$1" ping >/dev/null 2>&1; }

stop() {
  for port in "${ports[@]}"; do
    # Only a node this script started (its pid file is ours) is stopped.
    if [ -f "$dir/$port.pid" ] && answers "$port"; then
      redis-cli -h 127.0.0.1 -p "$port" shutdown nosave >/dev/null 2>&1 || true
    fi
  done
  for port in "${ports[@]}"; do
    for _ in $(seq 1 50); do answers "$port" || break; sleep 0.1; done
  done
  rm -rf "$dir"
}

start() {
  command -v redis-server >/dev/null || { echo "redis-server is not installed" >&2; exit 1; }
  stop
  for port in "${ports[@]}"; do
    if answers "$port"; then
      echo "port $port is already in use by another server" >&2
      exit 1
    fi
  done
  mkdir -p "$dir"
  for port in "${ports[@]}"; do
    redis-server --port "$port" --bind 127.0.0.1 --cluster-enabled yes \
      --cluster-config-file "$dir/nodes-$port.conf" --cluster-node-timeout 5000 \
      --save "" --appendonly no --daemonize yes --dir "$dir" \
      --logfile "$dir/$port.log" --pidfile "$dir/$port.pid"
  done
  for port in "${ports[@]}"; do
    for _ in $(seq 1 50); do answers "$port" && break; sleep 0.1; done
    answers "$port" || { echo "redis-server on port $port did not start (see $dir/$port.log)" >&2; exit 1; }
  done
  redis-cli --cluster create "${ports[@]/#/127.0.0.1:}" --cluster-replicas 0 --cluster-yes >"$dir/create.log" 2>&1 ||
    { cat "$dir/create.log" >&2; exit 1; }
  # Every node must see all 16,384 slots served before a client may use the cluster.
  for port in "${ports[@]}"; do
    for _ in $(seq 1 100); do
      redis-cli -h 127.0.0.1 -p "$port" cluster info 2>/dev/null | grep -q 'cluster_state:ok' && break
      sleep 0.1
    done
    redis-cli -h 127.0.0.1 -p "$port" cluster info | grep -q 'cluster_state:ok' ||
      { echo "the cluster did not settle (node $port)" >&2; exit 1; }
  done
  local IFS=,
  echo "redis+cluster://${ports[*]/#/127.0.0.1:}"
}

case "$action" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop [FIRST_PORT]" >&2; exit 2 ;;
esac

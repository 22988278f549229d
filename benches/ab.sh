#!/bin/bash
# Same-run A/B of two builds: BASE (a commit, default 6233588, whose figures benches/README.md recorded) and this
# work tree, interleaved run by run, on SQLite + memory and on PostgreSQL + Redis (a fresh database each run).
#   BENCHES="draw_load quiz_load callback_load" BASE=6233588 benches/ab.sh > ab.txt
#
# The two trees share one target dir, and cargo names a workspace crate's artifacts by its path relative to the
# workspace, so the trees overwrite each other's artifacts and a tree whose sources are older than the other's
# build looks fresh. So each tree's sources are touched before its build, and each build's bench binaries are
# copied out and run from there: "base" is always base's code and "main" main's.
#
# VARIANT compares build settings instead of code: both sides are BASE's tree, and "main" is built with these
# cargo settings in a target dir of its own (a profile change rebuilds every dependency), e.g.
#   BASE=$(git rev-parse HEAD) VARIANT="CARGO_PROFILE_RELEASE_LTO=fat CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1" benches/ab.sh
set -euo pipefail
main=$(git rev-parse --show-toplevel)
base_commit=${BASE:-6233588}
base=${BASE_DIR:-/tmp/wxc-bench-base}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$main/target}
benches=${BENCHES:-draw_load quiz_load callback_load}
# BINS names a folder an earlier run built (its base/ and main/): the runs again, on a quieter machine, unbuilt.
bins=${BINS:-$(mktemp -d)}
[ -d "$base" ] || git -C "$main" worktree add -q "$base" "$base_commit"
variant=${VARIANT:-}
build() { # dir name [cargo settings]
  mkdir -p "$bins/$2"
  (cd "$1" && find src migrations benches -type f -exec touch {} + \
    && env ${3:-} cargo bench -q --no-run --message-format=json) \
    | python3 -c 'import json,sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("executable") and "bench" in m.get("target", {}).get("kind", []):
        print(m["target"]["name"], m["executable"])' \
    | while read -r name exe; do cp "$exe" "$bins/$2/$name"; done
}
[ -n "$variant" ] && main=$base
if [ -z "${BINS:-}" ]; then
  echo "bench binaries in $bins"
  time build "$base" base
  if [ -n "$variant" ]; then
    echo "main = base built with: $variant"
    time build "$base" main "$variant CARGO_TARGET_DIR=$CARGO_TARGET_DIR-variant"
  else
    build "$main" main
  fi
fi
run() { # dir name bench mode
  cd "$1"
  if [ "$4" = pg ]; then
    db=wxc_bench_$RANDOM; createdb -h 127.0.0.1 -U postgres "$db"
    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/$db BENCH_REDIS_URL=redis://127.0.0.1:6379 \
      "$bins/$2/$3" --bench 2>&1 | grep "req/s"
    dropdb -h 127.0.0.1 -U postgres "$db"
    # Its keys go too: millions left behind slow every later KEYS or SCAN on this Redis.
    redis-cli --scan --pattern 'wxcbench_*' | xargs -r -n 1000 redis-cli unlink >/dev/null
  else
    "$bins/$2/$3" --bench 2>&1 | grep "req/s"
  fi
}
for b in $benches; do
  for mode in sqlite pg; do
    for rep in 1 2; do
      for v in base main; do
        d=$base; [ $v = main ] && d=$main
        echo "--- $b $mode $v #$rep"; run "$d" "$v" "$b" "$mode"
      done
    done
  done
done

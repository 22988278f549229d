#!/bin/bash
# Same-run A/B of two builds: BASE (a commit, default 6233588, whose figures benches/README.md recorded) and this
# work tree, interleaved run by run, on SQLite + memory and on PostgreSQL + Redis (a fresh database each run).
#   BENCHES="draw_load quiz_load callback_load" BASE=6233588 benches/ab.sh > ab.txt
set -euo pipefail
main=$(git rev-parse --show-toplevel)
base_commit=${BASE:-6233588}
base=${BASE_DIR:-/tmp/wxc-bench-base}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$main/target}
[ -d "$base" ] || git -C "$main" worktree add -q "$base" "$base_commit"
(cd "$base" && cargo bench -q --no-run) && (cd "$main" && cargo bench -q --no-run)
run() { # dir bench mode
  cd "$1"
  if [ "$3" = pg ]; then
    db=wxc_bench_$RANDOM; createdb -h 127.0.0.1 -U postgres "$db"
    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/$db BENCH_REDIS_URL=redis://127.0.0.1:6379 \
      cargo bench -q --bench "$2" 2>&1 | grep "req/s"
    dropdb -h 127.0.0.1 -U postgres "$db"
  else
    cargo bench -q --bench "$2" 2>&1 | grep "req/s"
  fi
}
for b in ${BENCHES:-draw_load quiz_load callback_load}; do
  for mode in sqlite pg; do
    for rep in 1 2; do
      for v in base main; do
        d=$base; [ $v = main ] && d=$main
        echo "--- $b $mode $v #$rep"; run "$d" "$b" "$mode"
      done
    done
  done
done

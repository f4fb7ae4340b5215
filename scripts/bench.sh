#!/usr/bin/env bash
# The benchmark command (BENCHMARKS.md). It installs redis-server if it is
# missing, builds cmd/migratebot and bench/cmd/mbbench, runs mbbench (which
# starts and stops its own redis-servers, emulators and bot processes on
# loopback) and the scheduler's and handlers' Go benchmarks, then checks that
# it left no redis-server behind. Figures go to stdout as Markdown, progress
# to stderr. Arguments go to mbbench, e.g. ./scripts/bench.sh -measure 5s;
# -only SECTIONS (commands, webhooks, startup, redis, calls, gobench) runs
# only those.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v redis-server >/dev/null 2>&1; then
  echo "== installing redis-server (Debian package)" >&2
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends redis-server >/dev/null
fi

# redis-server retitles itself "redis-server ADDR", so a leftover is found
# as a new one its starter left orphaned (parent 1), not by its config path.
orphans() {
  for p in $(pgrep -x redis-server || true); do
    if [ "$(ps -o ppid= -p "$p" | tr -d ' ')" = 1 ]; then echo "$p"; fi
  done | sort
}
before=$(orphans)

bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
echo "== building" >&2
go build -o "$bin/migratebot" ./cmd/migratebot
go build -o "$bin/mbbench" ./bench/cmd/mbbench

only="" prev=""
for a in "$@"; do
  case "$a" in -only=*|--only=*) only=${a#*=} ;; esac
  case "$prev" in -only|--only) only=$a ;; esac
  prev=$a
done

echo "== mbbench" >&2
"$bin/mbbench" -migratebot "$bin/migratebot" -repo . "$@"

if [ -z "$only" ] || [[ ",$only," == *",gobench,"* ]]; then
  echo "== go benchmarks" >&2
  go test -c -o "$bin/bench.test" ./bench/
  echo
  echo "## 5. Scheduler, and the handlers in-process (Go benchmarks)"
  echo
  echo '```'
  echo "go test -run '^\$' -bench 'FireDue|SlackCommand|Webhook' -benchtime 2000x ./bench/"
  (cd bench && "$bin/mbbench" run-quiet -- "$bin/bench.test" -test.run '^$' -test.bench 'FireDue|SlackCommand|Webhook' -test.benchtime 2000x) \
    | grep -E '^(Benchmark|cpu:|other processes)'
  echo '```'
fi

left=$(comm -13 <(echo "$before") <(orphans))
if [ -n "$left" ]; then
  echo "a redis-server was left running:" >&2; ps -o pid,args -p $left >&2; exit 1
fi

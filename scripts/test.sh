#!/usr/bin/env bash
# The test command (README: "Run the tests"). It installs what it needs,
# checks formatting and vet, runs every test with the race detector against
# real redis-servers that the tests start on loopback ports and stop, fuzzes
# for a bounded time, and checks that no redis-server was left behind.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v redis-server >/dev/null 2>&1; then
  echo "== installing redis-server (Debian package)"
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends redis-server >/dev/null
fi
redis-server --version

echo "== gofmt"
unformatted=$(gofmt -l $(find . -name '*.go' -not -path './.git/*'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change:"; echo "$unformatted"; exit 1
fi

echo "== go vet"
go vet ./...

echo "== go test -race"
go test -race -count=1 ./...

echo "== fuzzing (bounded by executions, not time: time-bounded runs of this"
echo "   Go release can end in a spurious 'context deadline exceeded')"
fuzz() { # package target executions
  go test -run='^$' -fuzz="^$2\$" -fuzztime="$3x" "$1" 2>&1 | grep -v '^fuzz: elapsed' || return 1
}
fuzz ./bot/              FuzzParseCommand            200000
fuzz ./bot/weightfile/   FuzzSetYAML                  30000
fuzz ./bot/weightfile/   FuzzRemoveYAML               30000
fuzz ./bot/weightfile/   FuzzSetHCL                    3000
fuzz ./bot/weightfile/   FuzzRemoveHCL                 3000
fuzz ./bot/trafficfile/  FuzzSetNginxUpstream         30000
fuzz ./bot/trafficfile/  FuzzSetProperty              30000
fuzz ./bot/trafficfile/  FuzzSetYAMLValue             30000
fuzz ./bot/trafficfile/  FuzzSetFastlyBackendAddress   3000
fuzz ./bot/trafficfile/  FuzzSetCNAME                  3000
fuzz ./handlers/         FuzzGitHubWebhook            15000
fuzz ./handlers/         FuzzWebhookDecode            30000
fuzz ./bot/redisstore/   FuzzMigrationDecode          20000
fuzz ./handlers/         FuzzSlackCommand             40000
fuzz ./handlers/         FuzzSlackInteraction         40000
fuzz ./config/           FuzzConfigParse              40000

if pgrep -f 'migratebot-redis-' >/dev/null 2>&1; then
  echo "a test left a redis-server running:"; pgrep -af 'migratebot-redis-'; exit 1
fi
echo "== all checks passed"

#!/usr/bin/env bash
# Every check CI runs: formatting, vet, a short run of each fuzz target,
# the whole Go test suite (which reads ../shared/testdata/pcap when present,
# builds and drives the plugin binary as Grafana does, drives the built
# editors and prints the monthly report in Chromium), then the frontend's
# typecheck, lint, tests and API compatibility with the Grafana versions
# it admits.
set -euo pipefail
cd "$(dirname "$0")/.."

unformatted=$(gofmt -l pkg examples tools Magefile.go)
if [ -n "$unformatted" ]; then
  echo "gofmt would change: $unformatted" >&2
  exit 1
fi
go vet ./...

# A count, not a duration: with a duration Go's fuzz coordinator can report
# "context deadline exceeded" when the time runs out mid-call, failing a run
# that found nothing (golang/go#75804); a count has no deadline to race.
fuzztime=${FUZZTIME:-200000x}
while read -r pkg target; do
  go test "./$pkg" -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime"
done <<'TARGETS'
pkg/capture FuzzReadCapture
pkg/capture FuzzDecode
pkg/extract/tls FuzzParseClientHelloRecords
pkg/extract/quic FuzzClientAddDatagram
pkg/extract/dns FuzzParse
pkg/extract/dhcp FuzzParse
pkg/extract/http FuzzParseRequest
pkg/extract/wiretext FuzzText
pkg/histogram FuzzDecode
TARGETS

# Before the Go tests: the browser tests drive Chromium through
# playwright-core, and the editors' test loads the built dist/module.js
# into a host page built from the same npm packages.
npm ci --no-audit --no-fund
npm run build
npm run build:host

SAASLENS_BROWSER_REQUIRED=1 go test -count=1 ./...

npm run typecheck
npm run lint
npm run test:ci
# The plugin's use of @grafana/data, ui and runtime against the oldest
# Grafana plugin.json's grafanaDependency admits and the newest published.
npm run compat

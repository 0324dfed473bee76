#!/usr/bin/env bash
# Every check CI runs: formatting, vet, a short run of each fuzz target,
# then the whole test suite (which reads ../shared/testdata/pcap when present).
set -euo pipefail
cd "$(dirname "$0")/.."

unformatted=$(gofmt -l pkg)
if [ -n "$unformatted" ]; then
  echo "gofmt would change: $unformatted" >&2
  exit 1
fi
go vet ./...

fuzztime=${FUZZTIME:-10s}
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
TARGETS

go test -count=1 ./...

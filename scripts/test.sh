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
TARGETS

go test -count=1 ./...

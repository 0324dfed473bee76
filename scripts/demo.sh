#!/usr/bin/env bash
# Builds the plugin (backend binary and frontend) into dist/, then serves it
# with its provisioned datasource and dashboards over the sample captures in
# testdata/, as Grafana would, and prints what every panel shows.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
go mod download
go run github.com/magefile/mage -v build:backend
npm ci --no-audit --no-fund
npm run build
go run ./pkg/cmd/grafanahost --captures testdata --db "${SAASLENS_DEMO_DB:-$(mktemp -d)/saaslens.db}" "$@"

#!/usr/bin/env bash
# Installs what building and testing need on a fresh Debian machine when it
# is absent: Go (the go.mod toolchain is then fetched through the module
# proxy), Node.js 20 or newer with npm, tshark (the reference some tests
# compare with) and Chromium with a Japanese font (the browser tests drive
# Debian's, through playwright-core: none is downloaded). Source it: it also sets PATH.
set -euo pipefail
export PATH="/usr/local/go/bin:$HOME/go/bin:$HOME/.saaslens-node/node_modules/node/bin:$PATH"

missing=()
command -v go >/dev/null 2>&1 || missing+=(golang-go ca-certificates)
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
command -v tshark >/dev/null 2>&1 || missing+=(tshark)
[ -x /usr/bin/chromium ] || missing+=(chromium)
# A Japanese font, so that screenshots of the editors and the Japanese
# report show their text rather than empty boxes.
[ -d /usr/share/fonts/opentype/ipafont-gothic ] || missing+=(fonts-ipafont-gothic)
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
fi
if [[ " ${missing[*]} " == *" golang-go "* ]]; then
  export GOTOOLCHAIN=auto
fi

# Grafana's packages and the test tools want Node 20 or newer; Debian 12
# ships 18. The npm registry carries Node itself (the node package).
node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  npm install --no-audit --no-fund --prefix "$HOME/.saaslens-node" node@20
  hash -r
fi
go version
node --version

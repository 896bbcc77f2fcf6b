#!/bin/sh
# Runs Node.js with the given arguments on a version tokenwatch supports (package.json engines: >= 22.12): the
# `node` on PATH when it is recent enough, otherwise Node 24 from the npm registry (the node-<platform>-<arch>
# package, the same binaries as nodejs.org), fetched once into a cache outside the clone. `exec` all the way, so a
# signal to the calling process (npm start, npm test) reaches node itself.
set -eu

if node -e 'const [major, minor] = process.versions.node.split(".").map(Number); process.exit(major > 22 || (major === 22 && minor >= 12) ? 0 : 1)'; then
  exec node "$@"
fi

package="node-$(node -p 'process.platform + "-" + process.arch')"
cache="${TOKENWATCH_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tokenwatch}/$package-24"
if [ ! -x "$cache/node_modules/$package/bin/node" ]; then
  echo "tokenwatch: Node $(node --version) is older than 22.12; fetching Node 24 ($package@24 from npm) into $cache, once" >&2
  mkdir -p "$(dirname "$cache")"
  staging="$(mktemp -d "$cache.XXXXXX")"
  npm install --no-save --no-package-lock --no-audit --no-fund --loglevel=error --prefix "$staging" "$package@24" >&2
  # Another run may have finished first: its copy is as good.
  if [ -e "$cache" ]; then rm -rf "$staging"; else mv "$staging" "$cache"; fi
fi
exec "$cache/node_modules/$package/bin/node" "$@"

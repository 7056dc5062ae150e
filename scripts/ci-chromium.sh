#!/usr/bin/env bash
# Installs Debian's Chromium for the browser tests (the explorer and the browser node drive it with playwright-core):
#   scripts/ci-chromium.sh
# The tests find it at /usr/bin/chromium (or KILN_CHROMIUM). No browser is ever downloaded by npm or playwright. A
# machine whose package sources cannot be reached goes on with a Chromium it already has; without one, the browser
# tests skip and say so.
set -euo pipefail

if command -v chromium >/dev/null 2>&1; then
  echo "ci-chromium: $(chromium --version 2>/dev/null || echo chromium) already installed" >&2
  exit 0
fi
if command -v apt-get >/dev/null 2>&1; then
  echo "ci-chromium: apt-get install chromium" >&2
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y -qq --no-install-recommends chromium >&2; then
    apt-get update -qq >&2 && apt-get install -y -qq --no-install-recommends chromium >&2 || echo "ci-chromium: apt-get failed" >&2
  fi
fi
if command -v chromium >/dev/null 2>&1; then
  echo "ci-chromium: $(chromium --version 2>/dev/null)" >&2
else
  echo "ci-chromium: no Chromium installed: the browser tests will skip" >&2
fi

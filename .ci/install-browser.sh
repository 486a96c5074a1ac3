#!/usr/bin/env bash
# Installs Debian's Chromium (+ a CJK font for screenshots) and the Playwright Python client for tests/web.
# Idempotent and non-interactive. Never runs `playwright install`: the tests drive /usr/bin/chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x /usr/bin/chromium ] || [ ! -f /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y chromium fonts-wqy-microhei
fi
.venv/bin/pip install --quiet playwright

#!/usr/bin/env bash
# Install the PC/SC stack the chip tests drive: pcscd + vsmartcard-vpcd + pcsc-tools + opensc, and pyscard
# into the project venv. Idempotent: when everything is present it returns in well under a second.
set -euo pipefail

cd "$(dirname "$0")/.."
PKGS=(pcscd vsmartcard-vpcd pcsc-tools libpcsclite-dev opensc)
VENV_PIP=".venv/bin/pip"
VENV_PY=".venv/bin/python"

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  if ! $SUDO apt-get install -y --no-install-recommends -o Dpkg::Options::=--force-confdef \
      -o Dpkg::Options::=--force-confold "${missing[@]}"; then
    $SUDO apt-get update -q
    $SUDO apt-get install -y --no-install-recommends -o Dpkg::Options::=--force-confdef \
      -o Dpkg::Options::=--force-confold "${missing[@]}"
  fi
fi

if [ -x "$VENV_PY" ] && ! "$VENV_PY" -c "import smartcard.System" >/dev/null 2>&1; then
  "$VENV_PIP" install --quiet pyscard
fi
echo "pcsc stack ready"

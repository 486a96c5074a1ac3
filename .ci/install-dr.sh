#!/usr/bin/env bash
# Install the disaster-recovery stack tests/dr and `make demo-ha` drive: Patroni (with its etcd v2 client),
# etcd, pgBackRest, from Debian. Idempotent: when everything is present it returns in well under a second.
# Nothing is started here (no systemd on CI machines): the test fixture and `sscard dr local` start each
# process by hand on loopback ports and stop it by pid.
set -euo pipefail
cd "$(dirname "$0")/.."
PKGS=(patroni etcd-server etcd-client pgbackrest postgresql-15)

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
for tool in patroni etcd pgbackrest /usr/lib/postgresql/15/bin/postgres; do
  command -v "$tool" >/dev/null || { echo "missing after install: $tool" >&2; exit 1; }
done
echo "dr stack ready: $(patroni --version 2>&1 | head -n1), $(etcd --version | head -n1), $(pgbackrest version)"

#!/usr/bin/env bash
# System prerequisites: installed with apt when we can (root or sudo on Debian/Ubuntu),
# otherwise one line saying exactly what to install.
#   stack/prereqs.sh python | services | browser
set -euo pipefail

what="${1:-services}"
missing=()

have() { command -v "$1" >/dev/null 2>&1; }

java_ok() {
  have java || return 1
  local v
  v=$(java -version 2>&1 | awk -F'"' '/version/ {print $2}' | cut -d. -f1)
  [ "${v:-0}" -ge 17 ] 2>/dev/null
}

pg_ok() { ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || have initdb; }

case "$what" in
  python)
    have python3 || missing+=(python3)
    python3 -c 'import venv, ensurepip' 2>/dev/null || missing+=(python3-venv)
    ;;
  services)
    { java_ok && have javac; } || missing+=(default-jdk-headless)  # javac: Maven builds jvm/
    have mvn || missing+=(maven)
    pg_ok || missing+=(postgresql)
    ;;
  browser)
    have chromium || [ -x /usr/bin/chromium ] || missing+=(chromium)
    ;;
  *) echo "usage: $0 python|services|browser" >&2; exit 2 ;;
esac

[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if have sudo && sudo -n true 2>/dev/null; then sudo="sudo"; else
    echo "missing system packages: ${missing[*]} -- install them (Debian/Ubuntu: sudo apt-get install ${missing[*]})" >&2
    exit 1
  fi
fi
if ! have apt-get; then
  echo "missing system packages: ${missing[*]} -- install them with your package manager" >&2
  exit 1
fi

echo "[prereqs] installing ${missing[*]} with apt-get ..."
# Debian's postgresql package would start its own cluster on 5432; ours is project-local.
policy_added=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
  $sudo chmod +x /usr/sbin/policy-rc.d
  policy_added=1
fi
trap '[ -n "$policy_added" ] && $sudo rm -f /usr/sbin/policy-rc.d' EXIT
$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "[prereqs] installed ${missing[*]}"

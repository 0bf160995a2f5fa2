#!/usr/bin/env bash
# Installs the real Prometheus, promtool, Alertmanager and amtool from Debian's packages, which
# the rule, alert and dashboard tests run, and chromium with its chromium-driver, which the page
# tests drive headless (tests/integration/test_page.py). Idempotent; needs root (CI and dev
# machines are root).
set -euo pipefail
missing=()
command -v prometheus >/dev/null || missing+=(prometheus)
command -v promtool >/dev/null || missing+=(prometheus)
command -v prometheus-alertmanager >/dev/null || command -v alertmanager >/dev/null \
  || missing+=(prometheus-alertmanager)
command -v amtool >/dev/null || missing+=(prometheus-alertmanager)
command -v chromium >/dev/null || missing+=(chromium)
command -v chromedriver >/dev/null || missing+=(chromium-driver)
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-tools: need root to apt-get install ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# --no-install-recommends: the packages only; their services are never started here.
apt-get install -y -qq --no-install-recommends $(printf '%s\n' "${missing[@]}" | sort -u) >/dev/null
# Debian's postinst may start the daemons where systemd runs; stop them, tests start their own.
(command -v systemctl >/dev/null && systemctl stop prometheus prometheus-alertmanager) 2>/dev/null || true
pkill -x prometheus 2>/dev/null || true
pkill -f prometheus-alertmanager 2>/dev/null || true
echo "install-tools: $(prometheus --version 2>&1 | head -1)"

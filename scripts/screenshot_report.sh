#!/usr/bin/env bash
# Renders a report page in headless Chromium and saves a PNG beside it, to check that the
# HTML and its SVG plots display in a real browser.
#   scripts/screenshot_report.sh pipelines/results/quickstart/report.html
# Installs Debian's chromium if it is missing (needs root or sudo). Not part of CI.
set -euo pipefail
page="${1:?usage: scripts/screenshot_report.sh REPORT.html [OUT.png]}"
out="${2:-${page%.html}.png}"
if ! command -v chromium >/dev/null; then
    sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
fi
# --no-sandbox: Chromium refuses to start as root otherwise.
chromium --headless=new --no-sandbox --disable-gpu --hide-scrollbars \
    --window-size=1150,2600 --screenshot="$(realpath -m "$out")" "file://$(realpath "$page")" 2>/dev/null
test -s "$out" || { echo "screenshot_report.sh: no screenshot written" >&2; exit 1; }
echo "wrote $out ($(stat -c %s "$out") bytes)"

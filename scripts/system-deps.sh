#!/usr/bin/env bash
# Debian packages that the build, the tests and the demo need and a fresh machine lacks:
#   chromium            the browser side of the VS Code host (driven headless by playwright-core)
#   libkrb5-dev, make, g++, pkg-config   code-server's postinstall compiles native modules
#   python3-twisted     the older Twisted (22.4) the runtime is tested against on the system Python
#   python3-pytest      pytest for that system Python
#   python3-scrapy      a real crawler (Scrapy 2.8 on Twisted 22.4) the runtime's tests run under the shim
#   python3-treq        treq for that system Python: the real client app of runtime/tests/test_apps.py (Debian has no
#                       python3-klein: the Klein tests are skipped there, saying so)
#   python3-hamcrest    imported by Twisted 22.4's own twisted.web.test.test_http and twisted.test.test_tcp, which
#                       scripts/trial-compare.py runs (Debian's python3-twisted ships its tests)
#   python3-venv        the virtual environment that holds the newest Twisted
#   wrk                 the HTTP load generator of the overhead benchmark (bench/web.py)
#   prometheus          the real Prometheus that scrapes an app's --metrics in runtime/tests/test_prometheus.py
#   python3-prometheus-client  an app with its own prometheus_client metrics (runtime/tests/test_metrics.py)
set -euo pipefail
packages=(chromium libkrb5-dev make g++ pkg-config curl python3 python3-venv python3-twisted python3-pytest python3-scrapy python3-treq python3-hamcrest wrk prometheus python3-prometheus-client)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "system: all Debian packages present"
  exit 0
fi
echo "system: installing ${missing[*]}"
sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
"${sudo_cmd[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

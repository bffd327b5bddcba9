#!/usr/bin/env bash
# The virtual environment (.venv, ignored by git) with the newest Twisted from PyPI and the runtime installed
# from runtime/ through its pyproject.toml. Debian's Twisted 22.4 on /usr/bin/python3 is the other one tested.
# Rebuilt when runtime/pyproject.toml changes; otherwise reused.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.venv
stamp="$venv/.pyproject.sha256"
want=$(sha256sum runtime/pyproject.toml | cut -d' ' -f1)
if [ -x "$venv/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  echo "python: $venv ready (Twisted $("$venv/bin/python" -c 'import twisted; print(twisted.__version__)'))"
  exit 0
fi
python=$(command -v python3)
echo "python: creating $venv with $("$python" --version)"
rm -rf "$venv"
"$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
# Twisted's range is pinned by the runtime's pyproject.toml; --upgrade takes the newest release within it.
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade -e "./runtime[test]" Twisted
echo "$want" > "$stamp"
echo "python: $venv ready (Twisted $("$venv/bin/python" -c 'import twisted; print(twisted.__version__)'))"

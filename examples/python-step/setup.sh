#!/usr/bin/env bash
# Create the Python environment the example worker runs in: .sluice/venv, with the pinned packages of
# examples/python-step/requirements.txt. Re-running is cheap: it installs only when the requirements
# changed since the last install. Needs python3 (3.9+) with the venv module, and PyPI.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
venv="$root/.sluice/venv"
requirements="$root/examples/python-step/requirements.txt"
stamp="$venv/.requirements.sha256"
wanted="$(sha256sum "$requirements" | cut -d' ' -f1)"

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ] && [ -x "$venv/bin/python" ]; then
  exit 0
fi
if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
  echo "python-step: python3 with the venv module is needed (Debian/Ubuntu: apt-get install python3-venv)" >&2
  exit 1
fi
echo "== python-step: creating $venv from $requirements"
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
echo "$wanted" > "$stamp"

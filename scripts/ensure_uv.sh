# shellcheck shell=bash
# Sourced by the scripts: makes `uv` available on a fresh machine (python3 is all it assumes).
if ! command -v uv >/dev/null 2>&1; then
  echo "== uv not found: installing it with pip (once)" >&2
  _uv_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  if [ -x "$_uv_root/.uv-bootstrap/bin/uv" ]; then
    :
  elif ! python3 -m pip install --quiet --user uv >/dev/null 2>&1; then
    # PEP 668 systems refuse user installs into the system Python: use a private venv instead.
    python3 -m venv "$_uv_root/.uv-bootstrap" && "$_uv_root/.uv-bootstrap/bin/pip" install --quiet uv
  fi
  _uv_scripts="$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))')"
  export PATH="$_uv_root/.uv-bootstrap/bin:$HOME/.local/bin:$_uv_scripts:$PATH"
  command -v uv >/dev/null 2>&1 || { echo "could not install uv with pip; install it (https://docs.astral.sh/uv/) and retry" >&2; exit 1; }
fi

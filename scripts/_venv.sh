# Shared by scripts/run and scripts/test (sourced, not run): make sure .venv exists and holds
# the project with its dev extra. Reinstalls only when pyproject.toml changed.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${STAGEBUREAU_VENV:-$ROOT/.venv}"
PY="$VENV/bin/python"

_find_python() {
    local candidate
    for candidate in "${PYTHON:-}" python3.11 python3.12 python3.13 python3; do
        [ -n "$candidate" ] || continue
        command -v "$candidate" >/dev/null 2>&1 || continue
        if "$candidate" -c 'import sys; sys.exit(not (3, 11) <= sys.version_info[:2] < (3, 14))'
        then
            echo "$candidate"
            return 0
        fi
    done
    echo "scripts: Python 3.11, 3.12 or 3.13 is needed (set PYTHON=/path/to/python3)." >&2
    return 1
}

_make_venv() {
    local python
    python="$(_find_python)"
    echo "scripts: creating $VENV with $python" >&2
    if "$python" -m venv "$VENV"; then
        return 0
    fi
    rm -rf "$VENV"
    # Debian ships the venv module separately (python3.X-venv).
    local version
    version="$("$python" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "scripts: installing python${version}-venv with apt-get" >&2
        apt-get install -y -qq "python${version}-venv" >/dev/null \
            || { apt-get update -qq && apt-get install -y -qq "python${version}-venv" >/dev/null; }
        "$python" -m venv "$VENV"
    else
        echo "scripts: '$python -m venv' failed. On Debian/Ubuntu run:" >&2
        echo "    sudo apt-get install python${version}-venv" >&2
        return 1
    fi
}

ensure_venv() {
    if [ ! -x "$PY" ]; then
        _make_venv
    fi
    local stamp="$VENV/.stagebureau-installed" want
    want="$("$PY" -c 'import hashlib, sys; print(hashlib.sha256(open(sys.argv[1], "rb").read()).hexdigest())' "$ROOT/pyproject.toml")"
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ] \
        || ! "$PY" -c 'import django, celery, stagebureau' >/dev/null 2>&1; then
        echo "scripts: installing the project and its dependencies into $VENV" >&2
        "$PY" -m pip install --quiet --disable-pip-version-check --upgrade pip
        "$PY" -m pip install --quiet --disable-pip-version-check -e "$ROOT[dev]"
        echo "$want" >"$stamp"
    fi
}

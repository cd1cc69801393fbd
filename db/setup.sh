#!/usr/bin/env bash
# Set up everything Mango ISP needs on Debian 12, idempotently and quietly when nothing is to do:
# Debian packages, the virtual environment, a running PostgreSQL cluster (unless DATABASE_URL
# points elsewhere), the roles, the database and the migrations.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1;33m==>\033[0m %s\n' "$*"; }
if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi

PACKAGES=(
  postgresql-15 postgresql-contrib postgresql-plpython3-15 postgresql-15-pgtap
  postgresql-15-plpgsql-check libtap-parser-sourcehandler-pgtap-perl
  python3 python3-venv python3-dev build-essential
  chromium fonts-dejavu-core softflowd nfdump
)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  say "creating the virtual environment"
  "$PY" -m venv .venv
fi
stamp=.venv/.installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  say "installing Python dependencies"
  .venv/bin/pip install -q --upgrade pip >/dev/null
  .venv/bin/pip install -q -e '.[dev]' >/dev/null
  touch "$stamp"
fi

if [ -z "${DATABASE_URL:-}" ]; then
  # A local cluster: start Debian's 15/main if it is down (there may be no systemd).
  if ! pg_lsclusters -h 2>/dev/null | awk '$1 == "15" && $2 == "main"' | grep -q .; then
    say "creating PostgreSQL cluster 15/main"
    $SUDO pg_createcluster 15 main >/dev/null
  fi
  if ! pg_lsclusters -h | awk '$1 == "15" && $2 == "main" {print $4}' | grep -q online; then
    say "starting PostgreSQL 15/main"
    $SUDO pg_ctlcluster --skip-systemctl-redirect 15 main start
  fi
  # Let the OS user reach the cluster as a superuser of the same name (peer authentication).
  me=$(id -un)
  if ! $SUDO runuser -u postgres -- psql -tAc "select 1 from pg_roles where rolname = '$me'" | grep -q 1; then
    say "creating PostgreSQL superuser $me"
    $SUDO runuser -u postgres -- psql -qc "create role \"$me\" superuser login"
  fi
fi

.venv/bin/mango setup

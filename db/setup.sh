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
  chromium fonts-dejavu-core softflowd nfdump pmacct wrk
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
  # Settings for this machine's memory (Debian's defaults suit a 1 GB host): written once, the
  # cluster restarted when they change. A managed cluster (DATABASE_URL) is tuned by its owner.
  conf=/etc/postgresql/15/main/conf.d/50-mango.conf
  mem_mb=$(awk '/^MemTotal:/ {print int($2 / 1024)}' /proc/meminfo)
  clamp() { local v=$1 lo=$2 hi=$3; [ "$v" -lt "$lo" ] && v=$lo; [ "$v" -gt "$hi" ] && v=$hi; echo "$v"; }
  wanted=$(cat <<EOF
# Written by Mango ISP's set-up (db/setup.sh) for a host with ${mem_mb} MB of memory.
shared_buffers = $(clamp $((mem_mb / 4)) 128 8192)MB
effective_cache_size = $(clamp $((mem_mb * 3 / 4)) 512 65536)MB
maintenance_work_mem = $(clamp $((mem_mb / 16)) 64 2048)MB
work_mem = 16MB
random_page_cost = 1.1
effective_io_concurrency = 200
max_wal_size = 8GB
checkpoint_timeout = 15min
wal_compression = on
# JIT compiles a plan in tens of milliseconds: a loss for the short queries of a web page.
jit = off
max_connections = 200
EOF
)
  if [ ! -f "$conf" ] || [ "$(cat "$conf")" != "$wanted" ]; then
    say "tuning PostgreSQL 15/main for ${mem_mb} MB of memory ($conf)"
    $SUDO mkdir -p "$(dirname "$conf")"
    printf '%s\n' "$wanted" | $SUDO tee "$conf" >/dev/null
    if pg_lsclusters -h | awk '$1 == "15" && $2 == "main" {print $4}' | grep -q online; then
      $SUDO pg_ctlcluster --skip-systemctl-redirect 15 main restart
    fi
  fi
  if ! pg_lsclusters -h | awk '$1 == "15" && $2 == "main" {print $4}' | grep -q online; then
    say "starting PostgreSQL 15/main"
    $SUDO pg_ctlcluster --skip-systemctl-redirect 15 main start
  fi
  # Let the OS user reach the cluster as a superuser of the same name (peer authentication).
  me=$(id -un)
  if ! (cd / && $SUDO runuser -u postgres -- psql -tAc "select 1 from pg_roles where rolname = '$me'" | grep -q 1); then
    say "creating PostgreSQL superuser $me"
    (cd / && $SUDO runuser -u postgres -- psql -qc "create role \"$me\" superuser login")
  fi
fi

.venv/bin/mango setup

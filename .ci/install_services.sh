#!/usr/bin/env bash
# Install the services the scale-out tests start on 127.0.0.1: a PostgreSQL server (Debian's
# `postgresql` package) when `initdb`/`pg_ctl` are missing. The Chroma server (`chroma run`)
# comes with the chromadb Python package. Called by .ci/run; safe to run again.
set -euo pipefail

have_pg() {
    command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1 && return 0
    compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null && return 0
    return 1
}

if have_pg; then
    echo "install_services: PostgreSQL already installed"
else
    echo "install_services: installing PostgreSQL (apt-get install postgresql)"
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends postgresql >/dev/null
    # Debian starts a cluster on port 5432 after install; the tests start their own.
    $SUDO service postgresql stop >/dev/null 2>&1 || true
fi
initdb_path="$(command -v initdb 2>/dev/null || ls /usr/lib/postgresql/*/bin/initdb | sort -V | tail -1)"
echo "install_services: initdb at ${initdb_path}"
if ! id -u postgres >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ]; then
    echo "install_services: note: no 'postgres' user; the tests run PostgreSQL as the current user"
fi

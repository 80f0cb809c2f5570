#!/usr/bin/env bash
# make test: hostd's tests need PostgreSQL on 127.0.0.1:5432 where the role postgres logs
# in without a password (trust), as CI's machines have it.  On a fresh Debian machine
# (Debian's postgresql just installed by make test) this starts the newest cluster when
# nothing answers, and adds one pg_hba line trusting the role postgres from 127.0.0.1
# only.  Idempotent: where the connection already works it changes nothing.
set -euo pipefail
DSN="host=127.0.0.1 port=5432 user=postgres dbname=postgres connect_timeout=3"
works() { psql "$DSN" -Atqc 'select 1' >/dev/null 2>&1; }
works && exit 0

if [ "$(id -u)" -eq 0 ]; then SUDO=""; elif command -v sudo >/dev/null; then SUDO="sudo"; else
    echo "error: PostgreSQL on 127.0.0.1:5432 (role postgres, trust) is needed by the tests" >&2
    exit 1
fi
version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -1)
if [ -z "$version" ]; then
    echo "error: no PostgreSQL cluster in /etc/postgresql (apt-get install postgresql)" >&2
    exit 1
fi
if ! pg_isready -q -h 127.0.0.1 -p 5432; then
    echo "starting PostgreSQL $version (cluster main)"
    $SUDO pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null \
        || $SUDO pg_ctlcluster "$version" main start
    for _ in $(seq 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi
works && exit 0

hba=/etc/postgresql/$version/main/pg_hba.conf
if ! $SUDO grep -q "wellgate make test" "$hba"; then
    echo "trusting the role postgres from 127.0.0.1 in $hba (for wellgate's tests)"
    # pg_hba.conf is read top down and the first matching line wins: prepend.
    $SUDO sed -i '1i # wellgate make test: the tests connect as postgres from 127.0.0.1\nhost all postgres 127.0.0.1/32 trust' "$hba"
    $SUDO pg_ctlcluster "$version" main reload
    sleep 1
fi
works || { echo "error: PostgreSQL at 127.0.0.1:5432 still refuses the role postgres" >&2; exit 1; }

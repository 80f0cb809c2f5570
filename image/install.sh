#!/bin/sh
# Install (or remove) the frozen wellgate image without dpkg: Yocto or other non-Debian
# gateways, or an SD card prepared on a workstation (--root).  It does what the Debian
# package does, from the bundle it is part of (the bundle's share/ holds the units, the
# user and directory definitions and the same maintainer scripts as the .deb):
#
#   ./install.sh [--root DIR]                  install this version and make it current
#   ./install.sh [--root DIR] --uninstall      remove the image; keep /etc/wellgate and
#                                              /var/lib/wellgate (configuration, data)
#   ./install.sh [--root DIR] --uninstall --purge    remove those too
#
# Under --root nothing touches the running system: users, directories and the enabled
# target are made inside DIR (systemd-sysusers/-tmpfiles/systemctl --root).
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=""
ACTION=install
PURGE=0
while [ $# -gt 0 ]; do
    case "$1" in
        --root) ROOT=$(cd "$2" && pwd); shift 2 ;;
        --uninstall) ACTION=uninstall; shift ;;
        --purge) PURGE=1; shift ;;
        -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
        *) echo "install.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done

VERSION=$(sed -n 's/^ *"version": "\([^"]*\)".*/\1/p' "$HERE/wellgate-build.json")
PROGRAMS=$(sed -n '/"programs"/,/]/p' "$HERE/wellgate-build.json" | tr -d ' ",[]' \
    | grep -v '^programs:' | grep -v '^$')
UNITS="$ROOT/usr/lib/systemd/system"
export DPKG_ROOT="$ROOT"

install_image() {
    target="$ROOT/opt/wellgate/$VERSION"
    mkdir -p "$ROOT/opt/wellgate"
    if [ "$(cd "$HERE" && pwd -P)" != "$(mkdir -p "$target" && cd "$target" && pwd -P)" ]; then
        rm -rf "$target.tmp" "$target"
        cp -a "$HERE" "$target.tmp"
        mv "$target.tmp" "$target"
    fi
    mkdir -p "$UNITS" "$ROOT/usr/lib/sysusers.d" "$ROOT/usr/lib/tmpfiles.d" "$ROOT/usr/bin"
    for unit in "$HERE"/share/systemd/*.service "$HERE"/share/systemd/*.target; do
        install -m 0644 "$unit" "$UNITS/"
    done
    for dropin in "$HERE"/share/systemd/*.service.d; do
        install -d -m 0755 "$UNITS/$(basename "$dropin")"
        install -m 0644 "$dropin/frozen.conf" "$UNITS/$(basename "$dropin")/frozen.conf"
    done
    install -m 0644 "$HERE/share/wellgate.sysusers.conf" "$ROOT/usr/lib/sysusers.d/wellgate.conf"
    install -m 0644 "$HERE/share/wellgate.tmpfiles.conf" "$ROOT/usr/lib/tmpfiles.d/wellgate.conf"
    install -d -m 0755 "$ROOT/etc/wellgate"
    if [ ! -e "$ROOT/etc/wellgate/gateway.toml" ]; then  # a technician's file is kept
        install -m 0640 "$HERE/_internal/config/gateway.toml" "$ROOT/etc/wellgate/gateway.toml"
    fi
    for program in $PROGRAMS; do
        ln -sfn "/opt/wellgate/current/$program" "$ROOT/usr/bin/$program"
    done
    sh "$HERE/share/postinst" configure
    echo "wellgate $VERSION installed in $ROOT/opt/wellgate/$VERSION (current)"
}

uninstall_image() {
    sh "$HERE/share/prerm" remove
    for unit in "$HERE"/share/systemd/*.service "$HERE"/share/systemd/*.target; do
        rm -f "$UNITS/$(basename "$unit")"
    done
    for dropin in "$HERE"/share/systemd/*.service.d; do
        rm -rf "$UNITS/$(basename "$dropin")"
    done
    rm -f "$ROOT/usr/lib/sysusers.d/wellgate.conf" "$ROOT/usr/lib/tmpfiles.d/wellgate.conf"
    for program in $PROGRAMS; do
        rm -f "$ROOT/usr/bin/$program"
    done
    # Copy the scripts out first: they may live in the tree about to be removed.
    tmp=$(mktemp -d)
    cp "$HERE/share/postrm" "$tmp/postrm"
    sh "$tmp/postrm" remove
    rm -rf "$ROOT/opt/wellgate"
    if [ "$PURGE" = 1 ]; then
        sh "$tmp/postrm" purge
    fi
    rm -rf "$tmp"
    echo "wellgate removed from ${ROOT:-/}"
}

if [ "$ACTION" = install ]; then
    install_image
else
    uninstall_image
fi

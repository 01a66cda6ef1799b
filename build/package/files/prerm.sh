#!/bin/sh
# imchost pre-removal (deb: prerm remove; rpm: %preun, $1 = 0 on erase).
set -e
if [ -z "${DPKG_ROOT:-}" ] && [ -d /run/systemd/system ]; then
	case "$1" in
	remove|0) systemctl stop imchost.service imchost-pdp.service || true ;;
	esac
fi
exit 0

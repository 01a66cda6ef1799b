#!/bin/sh
# imchost post-removal (deb: postrm; rpm: %postun). Purge removes the
# compilation cache; the user stays (files it owned may remain elsewhere).
set -e
root="${DPKG_ROOT:-}"
case "$1" in
purge) rm -rf "$root/var/cache/imchost" ;;
esac
if [ -z "$root" ] && [ -d /run/systemd/system ]; then
	systemctl daemon-reload || true
fi
exit 0

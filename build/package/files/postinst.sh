#!/bin/sh
# imchost post-installation (deb: postinst configure; rpm: %post).
# Creates the imchost user (in group tss) and its cache directory. Under
# `dpkg --root` every path goes below $DPKG_ROOT, and nothing is started.
set -e
root="${DPKG_ROOT:-}"
if command -v systemd-sysusers >/dev/null 2>&1; then
	systemd-sysusers ${root:+--root="$root"} "$root/usr/lib/sysusers.d/imchost.conf"
else
	grep -q '^tss:' "$root/etc/group" 2>/dev/null || groupadd ${root:+--prefix "$root"} --system tss
	if ! grep -q '^imchost:' "$root/etc/passwd" 2>/dev/null; then
		useradd ${root:+--prefix "$root"} --system --user-group --groups tss \
			--home-dir /var/cache/imchost --no-create-home --shell /usr/sbin/nologin \
			--comment "imchost attestation agent" imchost
	fi
fi
if command -v systemd-tmpfiles >/dev/null 2>&1; then
	systemd-tmpfiles ${root:+--root="$root"} --create "$root/usr/lib/tmpfiles.d/imchost.conf"
else
	install -d -m 0750 -o imchost -g imchost "$root/var/cache/imchost"
fi
if [ -z "$root" ] && [ -d /run/systemd/system ]; then
	systemctl daemon-reload || true
	# A running agent picks up the new binary and modules.
	systemctl try-restart imchost.service imchost-pdp.service || true
fi
exit 0

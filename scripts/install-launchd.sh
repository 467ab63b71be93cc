#!/usr/bin/env bash
# Installs tunroute as a LaunchDaemon, idempotently: any running instance is booted out
# first (SIGTERM: it restores the table), the plist is written through a temp file and a
# rename, then bootstrapped. Usage: sudo scripts/install-launchd.sh /path/to/profile.yaml
# Uninstall: sudo launchctl bootout system/org.tunroute.daemon && sudo rm /Library/LaunchDaemons/org.tunroute.daemon.plist
set -euo pipefail
[ "$(uname)" = Darwin ] || { echo "install-launchd: macOS only" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "install-launchd: run with sudo" >&2; exit 1; }
profile=${1:?usage: install-launchd.sh PROFILE}
prefix=$(cd "$(dirname "$0")/.." && pwd)
node=$(command -v node)
profile=$(cd "$(dirname "$profile")" && pwd)/$(basename "$profile")
label=org.tunroute.daemon
target=/Library/LaunchDaemons/$label.plist

"$node" "$prefix/dist/daemon/cli.js" check "$profile"
launchctl bootout "system/$label" 2>/dev/null || true
tmp=$(mktemp /Library/LaunchDaemons/.$label.XXXXXX)
sed -e "s|@NODE@|$node|" -e "s|@PREFIX@|$prefix|" -e "s|@PROFILE@|$profile|" "$prefix/launchd/$label.plist" > "$tmp"
chown root:wheel "$tmp"
chmod 0644 "$tmp"
plutil -lint "$tmp" >/dev/null
mv -f "$tmp" "$target"
launchctl bootstrap system "$target"
echo "installed $target; logs in /var/log/tunroute.log"

#!/bin/sh
# Vendors xterm.js into the dashboard (src/Host/wwwroot/vendor/xterm/): the terminal page loads it from the host, never
# from a CDN. Versions are pinned here; change them and re-run to upgrade, then commit the output. Needs npm.
set -eu
XTERM_VERSION=6.0.0
FIT_VERSION=0.11.0

root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/src/Host/wwwroot/vendor/xterm"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cd "$work"
npm pack --silent "@xterm/xterm@$XTERM_VERSION" "@xterm/addon-fit@$FIT_VERSION" >/dev/null
mkdir xterm fit
tar -xzf "xterm-xterm-$XTERM_VERSION.tgz" -C xterm
tar -xzf "xterm-addon-fit-$FIT_VERSION.tgz" -C fit

rm -rf "$out"
mkdir -p "$out"
cp xterm/package/lib/xterm.mjs "$out/xterm.js"
cp xterm/package/css/xterm.css "$out/xterm.css"
cp xterm/package/LICENSE "$out/LICENSE"
cp fit/package/lib/addon-fit.mjs "$out/addon-fit.js"
cp fit/package/LICENSE "$out/LICENSE.addon-fit"
printf '@xterm/xterm %s\n@xterm/addon-fit %s\n' "$XTERM_VERSION" "$FIT_VERSION" > "$out/VERSIONS"
echo "vendored @xterm/xterm $XTERM_VERSION and @xterm/addon-fit $FIT_VERSION into $out"

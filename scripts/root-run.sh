#!/usr/bin/env bash
# Runs inside a root made by scripts/root-check.sh: the README's run command (scripts/run.sh)
# on an Xvfb display until the dashboard's window is up and has drawn live data for a few
# seconds, then a screenshot of the display as PNG, then everything is stopped. Once in
# English, once in Bengali (the fonts of a fresh machine, issue #8).
#   root-run.sh CLONE PNG-PREFIX     (writes PNG-PREFIX-en.png and PNG-PREFIX-bn.png)
set -euo pipefail
clone=$1
prefix=$2
# Tools of this check only (not of the project): a window lister, a screen grabber, PNG.
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -q --no-install-recommends x11-utils x11-apps netpbm >/dev/null

display=:42
Xvfb "$display" -screen 0 1280x800x24 -nolisten tcp >/tmp/xvfb.log 2>&1 &
xvfb=$!
for _ in $(seq 100); do [ -e /tmp/.X11-unix/X42 ] && break; sleep 0.1; done
export DISPLAY=$display

cd "$clone"
run=""
stop() {
    if [ -n "$run" ]; then
        kill -TERM -- "-$run" 2>/dev/null || true
        wait "$run" 2>/dev/null || true
        run=""
    fi
}
trap 'stop; kill "$xvfb" 2>/dev/null || true' EXIT
trap 'exit 143' TERM INT

for lang in en bn; do
    png=$prefix-$lang.png
    setsid bash scripts/run.sh --lang "$lang" </dev/null >"/tmp/run-$lang.out" 2>&1 &
    run=$!
    # The release build comes first (minutes, the first time); then the window appears.
    for _ in $(seq 1800); do
        xwininfo -root -tree 2>/dev/null | grep -q 'nightlight-dashboard' && break
        kill -0 "$run" 2>/dev/null || break
        sleep 0.5
    done
    if ! xwininfo -root -tree | grep -q 'nightlight-dashboard'; then
        cat "/tmp/run-$lang.out"
        echo "root-run: no dashboard window ($lang)" >&2
        exit 1
    fi
    echo "root-run: dashboard window is up ($lang)"
    # A few seconds of live telemetry (the device publishes every second).
    sleep 8
    kill -0 "$run" || { cat "/tmp/run-$lang.out"; echo "root-run: run.sh ended early" >&2; exit 1; }
    xwd -root -silent -display "$display" | xwdtopnm 2>/dev/null | pnmtopng >"$png"
    [ -s "$png" ] || { echo "root-run: no screenshot" >&2; exit 1; }
    stop
    cat "/tmp/run-$lang.out"
    echo "root-run: screenshot $png"
    # The next run starts with no window left over.
    for _ in $(seq 100); do
        xwininfo -root -tree 2>/dev/null | grep -q 'nightlight-dashboard' || break
        sleep 0.1
    done
done

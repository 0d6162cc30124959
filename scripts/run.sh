#!/usr/bin/env bash
# The README's run command: installs dependencies, builds, then runs the whole system locally:
# a private mosquitto broker on a free loopback port, nightlight-device with its simulated sensor,
# and nightlight-dashboard pointed at both. Ctrl+C (or closing the dashboard) stops everything.
#   scripts/run.sh [--id ID] [--interval-ms MS] [--lang LANG]
set -euo pipefail
cd "$(dirname "$0")/.."
id=nightlight
interval=1000
lang=()
while [ $# -gt 0 ]; do
    case "$1" in
        --id) id=$2; shift 2 ;;
        --interval-ms) interval=$2; shift 2 ;;
        --lang) lang=(--lang "$2"); shift 2 ;;
        -h|--help) sed -n '2,5p' "$0"; exit 0 ;;
        *) echo "run.sh: unknown option $1" >&2; exit 2 ;;
    esac
done

bash scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release -j"$(nproc)" --target nightlight-device nightlight-dashboard

# A free loopback port: the first one in 18830.. that nothing answers on.
port=""
for p in $(seq 18830 18930); do
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then port=$p; break; fi
done
[ -n "$port" ] || { echo "run.sh: no free port in 18830..18930" >&2; exit 1; }

work=$(mktemp -d -t nightlight-run.XXXXXX)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

# set_tcp_nodelay: small MQTT packets are not held back by Nagle's algorithm (ARCHITECTURE.md).
cat > "$work/mosquitto.conf" <<CONF
user $(id -un)
listener $port 127.0.0.1
allow_anonymous true
set_tcp_nodelay true
persistence true
persistence_location $work/
log_dest file $work/mosquitto.log
CONF
mosquitto -c "$work/mosquitto.conf" & pids+=($!)
for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
echo "broker:    mosquitto on 127.0.0.1:$port (log: $work/mosquitto.log)"

build/release/device/nightlight-device --id "$id" --host 127.0.0.1 --port "$port" \
    --sensor simulated --interval-ms "$interval" & pids+=($!)
echo "device:    nightlight-device --id $id (simulated sensor, every $interval ms)"
echo "try:       mosquitto_sub -p $port -v -t '$id/#'"
echo "           mosquitto_pub -p $port -t $id/commands -q 1 -m '{\"led_on\": true}'"

dashboard=(build/release/dashboard/nightlight-dashboard --host 127.0.0.1 --port "$port" --id "$id"
    "${lang[@]}")
if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
    echo "dashboard: no display here; running it under xvfb-run (invisible). Ctrl+C stops all."
    xvfb-run -a "${dashboard[@]}"
else
    echo "dashboard: close the window or press Ctrl+C to stop everything"
    "${dashboard[@]}"
fi

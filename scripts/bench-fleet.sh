#!/usr/bin/env bash
# Fleet bench (issue #10): nightlight-fleetsim's N devices at RATE samples/s each for SECONDS
# against a private stock mosquitto, with nightlight-dashboard offscreen watching them. A share of
# the fleet is killed uncleanly mid-run (Last Will), the rest ends cleanly. Prints samples sent /
# stored / lost, device statuses right / wrong at the end and after a dashboard restart, the
# dashboard's CPU and memory, its longest GUI-thread stall and the broker's dropped-message
# warnings. Not part of the test command. Details: docs/fleet.md.
#   scripts/bench-fleet.sh N RATE SECONDS [--build DIR] [--out DIR] [--keep] [--kill-share F]
#                          [--settle S] [--connect-rate C] [--qos1-window-ms MS]
#                          [--broker HOST:PORT] [--prefix P]
#     N RATE SECONDS     devices, samples per device per second (may be fractional), run length
#     --build DIR        build directory holding dashboard/nightlight-dashboard and
#                        tools/fleetsim/nightlight-fleetsim (default build/dev); both are copied
#                        to the output directory first, so a rebuild during the run changes nothing
#     --out DIR          where logs, the database and the reports go; created, must be empty;
#                        kept (default: a new mktemp directory, removed after a passing run
#                        unless --keep)
#     --keep             keep the mktemp output directory after a passing run too
#     --kill-share F     share of the fleet killed uncleanly at SECONDS/2 (default 0.1)
#     --settle S         longest wait for the dashboard to show the final statuses, after the
#                        fleet ends and after the restart (default 30 + N/100)
#     --connect-rate C   the fleet's new connections per second (default 500)
#     --qos1-window-ms MS telemetry at QoS 1 for this long after each connect, as
#                        nightlight-device does (default 60000, the device's default; 0: QoS 0)
#     --broker HOST:PORT use a broker that already runs (aedes, RabbitMQ) instead of a private
#                        mosquitto; it is not started or stopped, and its drops are not counted.
#                        Its retained messages outlive the run: give each run its own --prefix
#     --prefix P         the fleet's device ids are P0001.. (default fc)
# Exit status: 0 pass, 1 a check failed (samples lost, a wrong status, a crash), 2 bad options or
# a missing tool or binary.
set -euo pipefail
export LC_ALL=C

repo=$(cd "$(dirname "$0")/.." && pwd)
build="$repo/build/dev"
out=""
keep=""
kill_share=0.1
settle=""
connect_rate=500
qos1_window_ms=60000
external=""
prefix=fc

die_usage() { echo "bench-fleet.sh: $*" >&2; exit 2; }
positional=()
while [ $# -gt 0 ]; do
    case "$1" in
        --build) build=${2:-}; shift 2 || die_usage "--build needs a value" ;;
        --out) out=${2:-}; shift 2 || die_usage "--out needs a value" ;;
        --keep) keep=1; shift ;;
        --kill-share) kill_share=${2:-}; shift 2 || die_usage "--kill-share needs a value" ;;
        --settle) settle=${2:-}; shift 2 || die_usage "--settle needs a value" ;;
        --connect-rate) connect_rate=${2:-}; shift 2 || die_usage "--connect-rate needs a value" ;;
        --qos1-window-ms) qos1_window_ms=${2:-}; shift 2 || die_usage "--qos1-window-ms needs a value" ;;
        --broker) external=${2:-}; shift 2 || die_usage "--broker needs HOST:PORT" ;;
        --prefix) prefix=${2:-}; shift 2 || die_usage "--prefix needs a value" ;;
        -h|--help) sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) die_usage "unknown option $1 (see --help)" ;;
        *) positional+=("$1"); shift ;;
    esac
done
[ ${#positional[@]} -eq 3 ] || die_usage "needs N RATE SECONDS (see --help)"
count=${positional[0]}
rate=${positional[1]}
seconds=${positional[2]}
[[ $count =~ ^[0-9]+$ ]] && [ "$count" -ge 1 ] || die_usage "N must be a whole number >= 1"
[[ $rate =~ ^[0-9]+([.][0-9]+)?$ ]] || die_usage "RATE must be a number >= 0"
[[ $seconds =~ ^[0-9]+$ ]] && [ "$seconds" -ge 2 ] || die_usage "SECONDS must be a whole number >= 2"
[[ $kill_share =~ ^(0|1|0?[.][0-9]+|1[.]0*)$ ]] || die_usage "--kill-share must be a number from 0 to 1"
[ -n "$settle" ] || settle=$((30 + count / 100))
[[ $settle =~ ^[0-9]+$ ]] || die_usage "--settle must be a whole number of seconds"
[[ $connect_rate =~ ^[0-9]+$ ]] && [ "$connect_rate" -ge 1 ] || die_usage "--connect-rate must be a whole number >= 1"
[[ $qos1_window_ms =~ ^[0-9]+$ ]] || die_usage "--qos1-window-ms must be a whole number"
[[ $prefix =~ ^[A-Za-z0-9_-]+$ ]] || die_usage "--prefix must be letters, digits, - or _"
broker_host=127.0.0.1
if [ -n "$external" ]; then
    [[ $external =~ ^([^:]+):([0-9]+)$ ]] || die_usage "--broker must be HOST:PORT"
    broker_host=${BASH_REMATCH[1]}
fi

for tool in mosquitto sqlite3 awk; do
    command -v "$tool" >/dev/null || {
        echo "bench-fleet.sh: $tool is missing: apt-get install mosquitto sqlite3" >&2
        exit 2
    }
done
build=$(cd "$build" 2>/dev/null && pwd) || die_usage "no build directory ${build}"
for bin in dashboard/nightlight-dashboard tools/fleetsim/nightlight-fleetsim; do
    [ -x "$build/$bin" ] || die_usage "$build/$bin is missing: cmake --build <build> --target nightlight-dashboard nightlight-fleetsim"
done

made_out=""
if [ -z "$out" ]; then
    out=$(mktemp -d -t nightlight-bench-fleet.XXXXXX)
    made_out=1
else
    mkdir -p "$out"
    [ -z "$(ls -A "$out")" ] || die_usage "--out $out is not empty"
    out=$(cd "$out" && pwd)
fi
mkdir -p "$out/bin"
cp "$build/dashboard/nightlight-dashboard" "$build/tools/fleetsim/nightlight-fleetsim" "$out/bin/"
dashboard_bin="$out/bin/nightlight-dashboard"
fleet_bin="$out/bin/nightlight-fleetsim"

# The broker holds one connection per device, the fleet three descriptors per device (its
# connection and libmosquitto's socket pair): both inherit this shell's limit, raised to the hard
# one. Nothing else about the broker is changed.
hard_nofile=$(ulimit -Hn)
ulimit -n "$hard_nofile"
[ "$hard_nofile" = unlimited ] || [ "$hard_nofile" -ge $((count * 3 + 64)) ] ||
    die_usage "$count devices need about $((count * 3 + 64)) file descriptors; the hard limit is $hard_nofile (raise it: ulimit -Hn as root)"

# ---------------------------------------------------------------------------------------------
# Processes

broker_pid=""
dashboard_pid=""
fleet_pid=""
passed=""
# alive, stop_child (STOP_RC)
source "$repo/scripts/children.sh"
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    for pid in "$fleet_pid" "$dashboard_pid" "$broker_pid"; do
        [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "$fleet_pid" "$dashboard_pid" "$broker_pid"; do
        [ -n "$pid" ] || continue
        for _ in $(seq 100); do alive "$pid" || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    if [ -n "$made_out" ] && [ -z "$keep" ] && [ -n "$passed" ]; then
        rm -rf "$out"
    else
        echo "bench-fleet: logs, database and reports in $out"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'echo "bench-fleet.sh: interrupted; everything stopped" >&2; exit 130' INT
trap 'echo "bench-fleet.sh: terminated; everything stopped" >&2; exit 143' TERM

t0=$(date +%s)
log() { printf '[%4ss] %s\n' "$(($(date +%s) - t0))" "$*"; }

if [ -n "$external" ]; then
    port=${external##*:}
    (exec 3<>"/dev/tcp/$broker_host/$port") 2>/dev/null ||
        { echo "bench-fleet.sh: nothing listens on $external" >&2; exit 2; }
else
    # A port nothing listens on, from a random start (bash only: a fresh machine may have
    # neither python3 nor ss).
    port=""
    for _ in $(seq 200); do
        p=$((20000 + (RANDOM * 32768 + RANDOM) % 12000)) # below the ephemeral range
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then port=$p; break; fi
    done
    [ -n "$port" ] || { echo "bench-fleet.sh: no free loopback port" >&2; exit 2; }

    printf '%s\n' "user $(id -un)" "listener $port 127.0.0.1" "allow_anonymous true" \
        "persistence true" "persistence_location $out/" "log_dest file $out/mosquitto.log" \
        >"$out/mosquitto.conf"
    mosquitto -c "$out/mosquitto.conf" >"$out/mosquitto.out" 2>&1 &
    broker_pid=$!
    for i in $(seq 100); do
        grep -q "running" "$out/mosquitto.log" 2>/dev/null && break
        alive "$broker_pid" || { echo "bench-fleet.sh: mosquitto did not start (see $out/mosquitto.out)" >&2; exit 1; }
        [ "$i" -lt 100 ] || { echo "bench-fleet.sh: mosquitto did not start in 10 s" >&2; exit 1; }
        sleep 0.1
    done
fi

export QT_MESSAGE_PATTERN='%{time yyyy-MM-ddTHH:mm:ss.zzz} %{type} %{if-category}%{category}: %{endif}%{message}'
mkdir -p "$out/home" "$out/config" "$out/data" "$out/cache" "$out/runtime"
chmod 700 "$out/runtime"
report="$out/report.txt"
max_devices=()
[ "$count" -le 9000 ] || max_devices=(--max-devices $((count + 1000)))

# Starts the dashboard and waits until it reports itself connected (SIGUSR1 -> report).
start_dashboard() { # log file
    rm -f "$report"
    HOME="$out/home" XDG_CONFIG_HOME="$out/config" XDG_DATA_HOME="$out/data" \
        XDG_CACHE_HOME="$out/cache" XDG_RUNTIME_DIR="$out/runtime" QT_QPA_PLATFORM=offscreen \
        DBUS_SESSION_BUS_ADDRESS="unix:path=$out/runtime/no-bus" \
        "$dashboard_bin" --host "$broker_host" --port "$port" --database "$out/bench.db" \
        --bench-report "$report" "${max_devices[@]}" >"$1" 2>&1 &
    dashboard_pid=$!
    local i
    for i in $(seq 300); do
        alive "$dashboard_pid" || { echo "bench-fleet.sh: the dashboard ended at start (see $1)" >&2; exit 1; }
        if [ $((i % 5)) = 0 ]; then
            kill -USR1 "$dashboard_pid"
            sleep 0.2
            grep -q '^connected 1$' "$report" 2>/dev/null && return 0
        fi
        sleep 0.1
    done
    echo "bench-fleet.sh: the dashboard did not connect within 30 s (see $1)" >&2
    exit 1
}

# Asks the dashboard for a report and waits for it (a new report number).
take_report() { # copy-to
    local before after i
    before=$(awk '$1 == "report" {print $2}' "$report" 2>/dev/null || echo 0)
    kill -USR1 "$dashboard_pid"
    for i in $(seq 300); do
        after=$(awk '$1 == "report" {print $2}' "$report" 2>/dev/null || echo 0)
        if [ "${after:-0}" != "${before:-0}" ]; then cp "$report" "$1"; return 0; fi
        alive "$dashboard_pid" || return 1
        sleep 0.1
    done
    return 1
}

# Compares a report with the fleet's expected final statuses: "right wrong" on stdout, the wrong
# ones ("id expected shown") in $2.
compare_statuses() { # report wrong-file
    awk -v wrongfile="$2" '
        FNR == NR { if ($0 !~ /^#/) expected[$1] = $3; next }
        $1 == "device" { shown[$2] = $3 }
        END {
            right = 0; wrong = 0
            for (id in expected) {
                want = expected[id]
                got = (id in shown) ? shown[id] : "missing"
                ok = (want == "offline" && got == "Offline") || (want == "online" && got == "Online") ||
                     (want == "none")
                if (ok) right++; else { wrong++; print id, want, got > wrongfile }
            }
            print right, wrong
        }' "$out/sent.tsv" "$1"
}

# Reports every 2 s until every status is right or `settle` seconds passed: "right wrong secs".
settle_statuses() { # name
    local start now rw
    start=$(date +%s)
    while :; do
        take_report "$out/report-$1.txt" || { echo "? ? -"; return; }
        : >"$out/wrong-$1.txt"
        rw=$(compare_statuses "$out/report-$1.txt" "$out/wrong-$1.txt")
        now=$(date +%s)
        if [ "${rw#* }" = 0 ] || [ $((now - start)) -ge "$settle" ]; then
            echo "$rw $((now - start))"
            return
        fi
        sleep 2
    done
}

proc_cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
proc_kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
clk_tck=$(getconf CLK_TCK)

# ---------------------------------------------------------------------------------------------
# The run

echo "bench-fleet: $count devices, $rate samples/s each, ${seconds} s, ${kill_share} killed uncleanly at $((seconds / 2)) s, telemetry QoS 1 for ${qos1_window_ms} ms after each connect"
if [ -n "$external" ]; then
    echo "bench-fleet: the broker at $external (not started here; ulimit -n $hard_nofile for the fleet)"
else
    echo "bench-fleet: private mosquitto $(mosquitto -h | head -1 | awk '{print $3}') on 127.0.0.1:$port (stock limits; ulimit -n $hard_nofile for broker and fleet)"
fi
echo "bench-fleet: binaries copied from $build; output in $out"
echo "bench-fleet: load average before: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores"

start_dashboard "$out/dashboard.log"
log "dashboard $dashboard_pid connected"

mem_csv="$out/memory.csv"
echo "t_s,vmrss_kb,vmhwm_kb,cpu_ticks" >"$mem_csv"
cpu_before=$(proc_cpu_ticks "$dashboard_pid")
fleet_start_ms=$(date +%s%3N)
"$fleet_bin" --host "$broker_host" --port "$port" --prefix "$prefix" --count "$count" --rate "$rate" \
    --seconds "$seconds" --kill-share "$kill_share" --connect-rate "$connect_rate" \
    --qos1-window-ms "$qos1_window_ms" \
    --sent-file "$out/sent.tsv" >"$out/fleet.log" 2>&1 &
fleet_pid=$!
log "fleet $fleet_pid started"
limit=$((seconds + 60 + count / 100))
while alive "$fleet_pid"; do
    t=$((($(date +%s%3N) - fleet_start_ms) / 1000))
    echo "$t,$(proc_kb "$dashboard_pid" VmRSS),$(proc_kb "$dashboard_pid" VmHWM),$(proc_cpu_ticks "$dashboard_pid")" >>"$mem_csv"
    if [ "$t" -gt "$limit" ]; then
        log "the fleet runs past ${limit} s: stopping it"
        kill -TERM "$fleet_pid" 2>/dev/null || true
    fi
    alive "$dashboard_pid" || break
    sleep 2
done
fleet_rc=0
wait "$fleet_pid" || fleet_rc=$?
fleet_pid=""
fleet_end_ms=$(date +%s%3N)
cpu_after=$(proc_cpu_ticks "$dashboard_pid")
cpu_pct=$(awk -v a="$cpu_before" -v b="$cpu_after" -v hz="$clk_tck" -v ms=$((fleet_end_ms - fleet_start_ms)) \
    'BEGIN { printf "%.1f", (b - a) / hz / (ms / 1000) * 100 }')
log "fleet ended (status $fleet_rc): $(tail -1 "$out/fleet.log")"

failures=()
alive "$dashboard_pid" || failures+=("the dashboard ended during the run (see $out/dashboard.log)")

# Statuses at the end, once the dashboard has taken in what the fleet's end sent.
end_rw="? ? -"
rss_end=0
hwm=0
if alive "$dashboard_pid"; then
    end_rw=$(settle_statuses end)
    rss_end=$(proc_kb "$dashboard_pid" VmRSS)
    hwm=$(proc_kb "$dashboard_pid" VmHWM)
    log "statuses at the end: right wrong after-seconds = $end_rw"
fi
stall_ms=$(awk '$1 == "stall_max_ms" {print $2}' "$out/report-end.txt" 2>/dev/null || echo "?")
stall_cpu_ms=$(awk '$1 == "stall_max_cpu_ms" {print $2}' "$out/report-end.txt" 2>/dev/null || echo "?")
devices_shown=$(awk '$1 == "devices" {print $2}' "$out/report-end.txt" 2>/dev/null || echo "?")
dash_rc="not running"
if [ -n "$dashboard_pid" ]; then
    stop_child "$dashboard_pid" 60
    dash_rc=$STOP_RC
    dashboard_pid=""
fi
[ "$dash_rc" = 0 ] || failures+=("dashboard: exit status $dash_rc on SIGTERM (expected 0)")

# Samples: per device, distinct ts stored vs sent. QoS 1 samples the broker never acknowledged to
# their device (column 7: killed with them outstanding, or still waiting for them 10 s into a
# clean end) may never have reached the broker: a shortfall up to that many is counted apart
# ("unconfirmed"), not as lost.
sent_total=$(awk '!/^#/ {s += $2} END {print s + 0}' "$out/sent.tsv" 2>/dev/null || echo 0)
stored_total="?"
lost="?"
extra="?"
unconfirmed=0
if sqlite3 "$out/bench.db" "select device, count(distinct t) from samples group by device" \
    >"$out/stored.txt" 2>"$out/sqlite.err"; then
    read -r stored_total lost extra unconfirmed < <(awk -F'[|\t]' '
        FNR == NR { stored[$1] = $2; total += $2; next }
        !/^#/ {
            d = $2 - stored[$1]
            if (d > 0 && $7 > 0) { u = (d < $7) ? d : $7; unconfirmed += u; d -= u }
            if (d > 0) { lost += d; print $1, $2, stored[$1] + 0 > "'"$out/lost.txt"'" } else if (d < 0) extra -= d
        }
        END { print total + 0, lost + 0, extra + 0, unconfirmed + 0 }' "$out/stored.txt" "$out/sent.tsv")
else
    failures+=("samples: cannot read $out/bench.db: $(cat "$out/sqlite.err")")
fi

# The restart: the same database, settings and broker.
start_dashboard "$out/dashboard-restart.log"
log "dashboard restarted ($dashboard_pid)"
restart_rw=$(settle_statuses restart)
log "statuses after the restart: right wrong after-seconds = $restart_rw"
stop_child "$dashboard_pid" 60
dashboard_pid=""
[ "$STOP_RC" = 0 ] || failures+=("dashboard after the restart: exit status $STOP_RC on SIGTERM")
if [ -n "$external" ]; then
    dropped=0
else
    stop_child "$broker_pid" 30
    broker_pid=""
    dropped=$(grep -c "Outgoing messages are being dropped" "$out/mosquitto.log" || true)
fi

# ---------------------------------------------------------------------------------------------
# The summary

read -r end_right end_wrong end_after <<<"$end_rw"
read -r restart_right restart_wrong restart_after <<<"$restart_rw"
killed=$(awk '!/^#/ && $4 == "killed"' "$out/sent.tsv" 2>/dev/null | wc -l)
never=$(awk '!/^#/ && $4 == "never"' "$out/sent.tsv" 2>/dev/null | wc -l)
[ "$fleet_rc" = 0 ] || failures+=("fleet: exit status $fleet_rc (see $out/fleet.log)")
[ "$lost" = 0 ] || failures+=("samples: $lost of $sent_total lost (per device: $out/lost.txt)")
[ "$end_wrong" = 0 ] || failures+=("statuses at the end: $end_wrong wrong")
[ "$restart_wrong" = 0 ] || failures+=("statuses after the restart: $restart_wrong wrong")
[ "$never" = 0 ] || failures+=("fleet: $never devices never connected")
first_wrong() { # file
    if [ -s "$1" ]; then
        sort "$1" | head -5 | awk '{printf "%s%s (want %s, shows %s)", (NR > 1 ? ", " : ""), $1, $2, $3}'
    fi
}

echo
echo "== Nightlight fleet bench: $count devices x $rate/s for ${seconds} s, ${killed} killed uncleanly =="
row() { printf '%-36s %s\n' "$1" "$2"; }
row "samples sent / stored / lost" "$sent_total / $stored_total / $lost$( [ "${extra:-0}" = 0 ] || [ "$extra" = "?" ] || echo " ($extra stored beyond sent)")$( [ "${unconfirmed:-0}" = 0 ] || echo " (and $unconfirmed not stored that the broker never acknowledged to their device)")"
row "statuses at the end: right / wrong" "$end_right / $end_wrong (after ${end_after} s of settling; $devices_shown devices listed)"
[ "${end_wrong:-0}" = 0 ] || [ "$end_wrong" = "?" ] || row "  first wrong" "$(first_wrong "$out/wrong-end.txt")"
row "after a restart: right / wrong" "$restart_right / $restart_wrong (after ${restart_after} s)"
[ "${restart_wrong:-0}" = 0 ] || [ "$restart_wrong" = "?" ] || row "  first wrong" "$(first_wrong "$out/wrong-restart.txt")"
row "dashboard CPU (one core, mean)" "${cpu_pct} % over the fleet run"
row "dashboard RSS peak / at end" "$((hwm / 1024)) MB / $((rss_end / 1024)) MB"
row "longest GUI-thread stall" "${stall_ms} ms (GUI-thread CPU in it: ${stall_cpu_ms} ms)"
if [ -n "$external" ]; then
    row "broker: outgoing messages dropped" "not counted (a broker not started here)"
else
    row "broker: outgoing messages dropped" "$dropped warnings in mosquitto.log"
fi
row "fleet" "$(sed -n 's/^fleetsim: \([0-9]* devices, .*errors\)$/\1/p' "$out/fleet.log" | tail -1)"
row "load average after" "$(cut -d' ' -f1-3 /proc/loadavg)"
echo
if [ ${#failures[@]} -eq 0 ]; then
    passed=1
    echo "RESULT: PASS"
    exit 0
fi
for f in "${failures[@]}"; do echo "FAIL: $f"; done
echo "RESULT: FAIL (${#failures[@]} problems)"
exit 1

#!/usr/bin/env bash
# Tries the .deb packages (issue #8) as a user would, INSIDE a fresh minimal Debian bookworm root
# (debootstrap --variant=minbase, chroot as root, /proc /sys /dev mounted, no systemd running,
# a policy-rc.d that denies starting services):
#   install with apt-get (it fetches the dependencies), see the user, the conffile and the
#   enabled unit, `systemd-analyze verify` the unit, run the device as the service would (user
#   nightlight, /etc/nightlight/device.conf) against a private mosquitto and read its telemetry,
#   run the dashboard on an Xvfb display and save a screenshot to PNG, then purge and see that
#   nothing of ours is left.
#   scripts/package-check.sh DEBDIR PNG
# DEBDIR holds nightlight-device_*_<arch>.deb and, optionally, nightlight-dashboard_*_<arch>.deb.
# One "PASS|FAIL <check>" line per check; exits 1 if any failed. Changes the root (packages,
# a gpio group); meant for a throwaway copy.
set -uo pipefail
[ $# -eq 2 ] || { echo "usage: scripts/package-check.sh DEBDIR PNG" >&2; exit 2; }
debdir=$(cd "$1" && pwd)
png=$2
export DEBIAN_FRONTEND=noninteractive
arch=$(dpkg --print-architecture)

failures=0
pass() { echo "PASS $*"; }
fail() { echo "FAIL $*"; failures=$((failures + 1)); }
# check "what" command...: PASS or FAIL by the command's exit status.
check() {
    local what=$1
    shift
    if "$@"; then pass "$what"; else fail "$what"; fi
}
step() { echo; echo "=== $*"; }
die() { fail "$*"; echo "package-check: stopped, $failures check(s) failed"; exit 1; }

work=$(mktemp -d /tmp/package-check.XXXXXX)
pids=()
cleanup() {
    [ "$BASHPID" = "$$" ] || return 0 # the main shell's exit only
    local pid
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

# A free loopback port (never 1883): the first one in 18830.. that nothing answers on.
free_port() {
    local p
    for p in $(seq 18830 18930); do
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return 0; fi
    done
    return 1
}
# wait_for SECONDS command...: polls every 0.1 s until the command succeeds.
wait_for() {
    local tries=$(($1 * 10))
    shift
    while [ $tries -gt 0 ]; do
        "$@" && return 0
        sleep 0.1
        tries=$((tries - 1))
    done
    return 1
}

# --- install ---------------------------------------------------------------------------------
debs=()
for name in nightlight-device nightlight-dashboard; do
    for f in "$debdir/${name}_"*"_$arch.deb"; do [ -e "$f" ] && debs+=("$f"); done
done
have() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
step "install: ${debs[*]##*/}"
case "${debs[*]}" in
    */nightlight-device_*) ;;
    *) die "a nightlight-device package for $arch in $debdir" ;;
esac
apt-get update -q >"$work/apt-update.log" 2>&1 ||
    { cat "$work/apt-update.log"; die "apt-get update"; }
# Raspberry Pi OS has a group gpio (and i2c); make gpio here, so the postinst's "add the user to
# the groups that exist" is seen doing both: joining gpio, skipping the missing i2c.
made_gpio=0
if ! getent group gpio >/dev/null; then groupadd --system gpio && made_gpio=1; fi
if apt-get install -y -q "${debs[@]}" >"$work/apt-install.log" 2>&1; then
    grep -E '^(Setting up|Unpacking) nightlight' "$work/apt-install.log"
    pass "apt-get install ${debs[*]##*/}"
else
    cat "$work/apt-install.log"
    die "apt-get install ${debs[*]##*/}"
fi
packages=(nightlight-device)
have nightlight-dashboard && packages+=(nightlight-dashboard)

# --- what the device package set up ---------------------------------------------------------
step "the device package's user, conffile and unit"
unit=/lib/systemd/system/nightlight-device.service
wants=/etc/systemd/system/multi-user.target.wants/nightlight-device.service
getent passwd nightlight
id nightlight
check "system user nightlight exists (uid < 1000, home /nonexistent)" \
    bash -c '[ "$(getent passwd nightlight | cut -d: -f3)" -lt 1000 ] &&
             [ "$(getent passwd nightlight | cut -d: -f6)" = /nonexistent ]'
check "group nightlight exists" getent group nightlight
check "user nightlight is in group gpio (it exists here)" \
    bash -c 'id -nG nightlight | tr " " "\n" | grep -qx gpio'
conffiles=$(dpkg-query -W -f='${Conffiles}' nightlight-device)
echo "Conffiles:$conffiles"
check "/etc/nightlight/device.conf is a conffile" \
    grep -q '^ */etc/nightlight/device.conf [0-9a-f]\{32\}$' <<<"$conffiles"
check "/usr/bin/nightlight-device installed" test -x /usr/bin/nightlight-device
check "$unit installed" test -f "$unit"
ls -l "$wants" 2>&1
check "unit enabled: $wants -> $unit" \
    bash -c "[ \"\$(readlink '$wants')\" = '$unit' ]"

step "systemd-analyze verify"
if ! command -v systemd-analyze >/dev/null; then
    echo "(installing systemd for systemd-analyze; it does not run here)"
    apt-get install -y -q --no-install-recommends systemd >"$work/apt-systemd.log" 2>&1 ||
        { cat "$work/apt-systemd.log"; fail "apt-get install systemd"; }
fi
if out=$(systemd-analyze verify "$unit" 2>&1); then
    echo "${out:-(no output)}"
    pass "systemd-analyze verify $unit"
else
    echo "$out"
    fail "systemd-analyze verify $unit"
fi

# --- the device, as the service runs it -----------------------------------------------------
step "the device against a private mosquitto"
apt-get install -y -q --no-install-recommends mosquitto mosquitto-clients \
    >"$work/apt-mosquitto.log" 2>&1 ||
    { cat "$work/apt-mosquitto.log"; die "apt-get install mosquitto"; }
port=$(free_port) || die "a free loopback port in 18830..18930"
cat >"$work/mosquitto.conf" <<CONF
listener $port 127.0.0.1
allow_anonymous true
set_tcp_nodelay true
persistence false
log_dest stdout
CONF
mosquitto -c "$work/mosquitto.conf" >"$work/mosquitto.log" 2>&1 &
pids+=($!)
check "mosquitto listens on 127.0.0.1:$port" \
    wait_for 10 bash -c "(exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null"

# As the unit does: user nightlight with its groups, the shipped config. setpriv execs, so $! is
# the device itself (runuser would sit in between and turn SIGTERM into its own exit status).
# The command line wins over the file: only the port and the pace differ from the default.
setpriv --reuid=nightlight --regid=nightlight --init-groups \
    /usr/bin/nightlight-device --config /etc/nightlight/device.conf --host 127.0.0.1 \
    --port "$port" --interval-ms 200 >"$work/device.log" 2>&1 &
device=$!
pids+=("$device")
mosquitto_sub -h 127.0.0.1 -p "$port" -t nightlight/telemetry -C 5 -W 20 >"$work/telemetry" 2>&1
cat "$work/telemetry"
check "5 telemetry messages {\"light\": ...} on nightlight/telemetry" \
    test "$(grep -cE '^\{"light":[0-9.]+[,}]' "$work/telemetry")" -eq 5
check "the device runs as user nightlight" test "$(stat -c %U "/proc/$device")" = nightlight
status=$(mosquitto_sub -h 127.0.0.1 -p "$port" -t nightlight/status -C 1 -W 5 2>&1)
check "nightlight/status is online (retained): $status" test "$status" = online

# --- the dashboard ---------------------------------------------------------------------------
if have nightlight-dashboard; then
    step "the dashboard"
    nightlight-dashboard --version
    check "nightlight-dashboard --version exits 0" nightlight-dashboard --version

    # Tools of this check only: the X server, a window lister, a screen grabber, PNG.
    apt-get install -y -q --no-install-recommends xvfb x11-utils x11-apps netpbm \
        >"$work/apt-x.log" 2>&1 || { cat "$work/apt-x.log"; die "apt-get install xvfb"; }
    display=:57
    Xvfb "$display" -screen 0 1280x800x24 -nolisten tcp >"$work/xvfb.log" 2>&1 &
    pids+=($!)
    check "Xvfb $display is up" wait_for 10 test -e /tmp/.X11-unix/X57
    DISPLAY=$display nightlight-dashboard --host 127.0.0.1 --port "$port" --id nightlight \
        >"$work/dashboard.log" 2>&1 &
    dashboard=$!
    pids+=("$dashboard")
    title='"nightlight — Nightlight Dashboard"' # as xwininfo shows it
    title_shown() { xwininfo -display "$display" -root -tree 2>/dev/null | grep -q "$title"; }
    if wait_for 60 title_shown; then
        pass "dashboard window \"nightlight — Nightlight Dashboard\" is on the display"
        # A few seconds of live telemetry at 5 samples a second in the chart.
        sleep 8
        window=$(xwininfo -display "$display" -root -tree | grep "$title" | awk '{print $1}' |
            head -n 1)
        xwd -silent -display "$display" -id "$window" | xwdtopnm 2>/dev/null | pnmtopng >"$png"
        size=$(pngtopnm "$png" 2>/dev/null | pnmfile 2>/dev/null | sed 's/^stdin: *//')
        check "screenshot $png of the window: $size" test -s "$png"
    else
        xwininfo -display "$display" -root -tree 2>&1 | head -n 20
        fail "dashboard window \"nightlight — Nightlight Dashboard\" is on the display"
    fi
    check "the dashboard still runs" kill -0 "$dashboard"
    kill -TERM "$dashboard" 2>/dev/null
    wait "$dashboard" 2>/dev/null
    echo "dashboard log:"
    sed 's/^/  /' "$work/dashboard.log"
fi

step "stopping the device"
kill -TERM "$device"
# A watchdog bounds the wait: a device still there after 5 s is killed (exit code 137).
(sleep 5; kill -KILL "$device" 2>/dev/null) &
watchdog=$!
wait "$device"
rc=$?
kill "$watchdog" 2>/dev/null
wait "$watchdog" 2>/dev/null
check "the device exits 0 on SIGTERM (exit code $rc)" test "$rc" -eq 0
status=$(mosquitto_sub -h 127.0.0.1 -p "$port" -t nightlight/status -C 1 -W 5 2>&1)
check "nightlight/status is offline after the stop: $status" test "$status" = offline
echo "device log:"
sed 's/^/  /' "$work/device.log"

# --- purge -----------------------------------------------------------------------------------
step "apt-get purge ${packages[*]}"
if apt-get purge -y -q "${packages[@]}" >"$work/apt-purge.log" 2>&1; then
    grep -E '^(Removing|Purging) ' "$work/apt-purge.log"
    pass "apt-get purge ${packages[*]}"
else
    cat "$work/apt-purge.log"
    fail "apt-get purge ${packages[*]}"
fi
left=$(ls -d /usr/bin/nightlight-* 2>/dev/null)
check "no /usr/bin/nightlight-* left ${left}" test -z "$left"
check "no $unit left" test ! -e "$unit"
check "no /etc/nightlight left" test ! -e /etc/nightlight
check "no user nightlight left" bash -c '! getent passwd nightlight'
check "no group nightlight left" bash -c '! getent group nightlight'
check "group gpio (not ours) is still there" getent group gpio
check "no enablement symlink $wants left" test ! -L "$wants"
left=$(find /etc/systemd /var/lib/systemd -name '*nightlight*' 2>/dev/null)
check "no nightlight-device state under /etc/systemd, /var/lib/systemd ${left}" test -z "$left"
left=$(dpkg -l | grep nightlight)
check "dpkg -l | grep nightlight is empty ${left}" test -z "$left"
left=$(ls -d /usr/share/doc/nightlight-* /usr/share/applications/nightlight-* \
    /usr/share/icons/hicolor/scalable/apps/nightlight-* 2>/dev/null)
check "no docs, .desktop file or icon left ${left}" test -z "$left"
[ "$made_gpio" = 1 ] && groupdel gpio

echo
if [ "$failures" -eq 0 ]; then
    echo "package-check: PASS ($arch: ${packages[*]})"
    exit 0
fi
echo "package-check: FAIL, $failures check(s) failed ($arch)"
exit 1

#!/usr/bin/env bash
# Proves "from a fresh machine": runs the README's commands in a minimal Debian root made with
# debootstrap, which has nothing but what the project's own scripts install.
#
#   scripts/root-check.sh [--arch amd64|arm64] [--suite bookworm|trixie] [--preset NAME]
#                         [--no-run] [--packages] [--prepare] [--keep] [--shell]
#
#   (default)     clone HEAD into a fresh copy of the root, run `scripts/test.sh` there (the
#                 README's test command), then `scripts/run.sh` (the run command) for a few
#                 seconds on an Xvfb display, and save a screenshot of that display outside
#                 the root.
#   --preset P    the test command with a preset: `scripts/test.sh P` (arm64 uses `device`,
#                 the device and shared suites, unless told otherwise).
#   --no-run      skip the run command.
#   --packages    instead: build the two .deb packages in the root (CPack, Release), then
#                 install them with apt-get in a second fresh root and try them as a user would
#                 (scripts/package-check.sh, run inside).
#   --prepare     only make (and cache) the pristine root, then stop.
#   --keep        leave the work root in place (its path is printed) instead of deleting it.
#   --shell       open a shell in the work root after the checks (implies --keep).
#
# Must run as root (debootstrap, chroot, mounts). The pristine roots are cached outside the
# clone, in $NIGHTLIGHT_ROOT_CACHE (default /var/cache/nightlight-root); every check works on a
# fresh copy, so nothing one run installs is seen by the next. Results (logs, screenshots,
# packages) go to $NIGHTLIGHT_ROOT_OUT (default $cache/out/<suite>-<arch>). The last line printed
# is the result: "root-check: PASS|FAIL <what> (<suite> <arch>) in <m>m<s>s"; exit 0 only on PASS.
# Needs: debootstrap, and for arm64 qemu-user-static with binfmt_misc (installed if missing).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
# Bash reads a script as it runs it: run from a copy, so that editing or checking out another
# version of this file during a long check cannot change what the check does.
if [ -z "${NIGHTLIGHT_ROOT_CHECK_HERE:-}" ]; then
    copy=$(mktemp -t root-check.XXXXXX.sh)
    cp "$0" "$copy"
    NIGHTLIGHT_ROOT_CHECK_HERE=$here exec bash "$copy" "$@"
fi
here=$NIGHTLIGHT_ROOT_CHECK_HERE
rm -f "$0"
arch=amd64
suite=bookworm
preset=""
run=1
packages=0
prepare=0
keep=0
shell=0
while [ $# -gt 0 ]; do
    case "$1" in
        --arch) arch=$2; shift 2 ;;
        --suite) suite=$2; shift 2 ;;
        --preset) preset=$2; shift 2 ;;
        --no-run) run=0; shift ;;
        --packages) packages=1; shift ;;
        --prepare) prepare=1; shift ;;
        --keep) keep=1; shift ;;
        --shell) shell=1; keep=1; shift ;;
        -h|--help) sed -n '2,30p' "$0"; exit 0 ;;
        *) echo "root-check: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done
case "$arch" in amd64|arm64) ;; *) echo "root-check: --arch must be amd64 or arm64" >&2; exit 2 ;; esac
case "$suite" in bookworm|trixie) ;; *) echo "root-check: --suite must be bookworm or trixie" >&2; exit 2 ;; esac
[ "$(id -u)" -eq 0 ] || { echo "root-check: must run as root (debootstrap, chroot, mounts)" >&2; exit 2; }
if [ -z "$preset" ]; then
    preset=dev
    [ "$arch" = arm64 ] && preset=device
fi

cache=${NIGHTLIGHT_ROOT_CACHE:-/var/cache/nightlight-root}
mirror=${NIGHTLIGHT_MIRROR:-http://deb.debian.org/debian}
security=${NIGHTLIGHT_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
out=${NIGHTLIGHT_ROOT_OUT:-$cache/out/$suite-$arch}
mkdir -p "$cache" "$out"
start=$(date +%s)
what="test command"
[ "$packages" = 1 ] && what="packages"
[ "$prepare" = 1 ] && what="root"

result() { # result PASS|FAIL
    local s=$(( $(date +%s) - start ))
    echo "root-check: $1 $what ($suite $arch) in $((s / 60))m$((s % 60))s"
}

log() { echo "root-check: $*" >&2; }

# --- host tools ----------------------------------------------------------------------------------
host_packages=(debootstrap git)
[ "$arch" = arm64 ] && host_packages+=(qemu-user-static binfmt-support)
missing=()
for p in "${host_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]} on the host"
    DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi
binfmt_ours=""
# release_binfmt: this check no longer needs the registered emulator; unregister it when no
# other check (a live pid in $cache/binfmt-users) does.
release_binfmt() {
    [ -n "$binfmt_ours" ] || return 0
    rm -f "$cache/binfmt-users/$$"
    local f
    for f in "$cache"/binfmt-users/*; do
        [ -e "$f" ] || continue
        if kill -0 "$(basename "$f")" 2>/dev/null; then return 0; fi
        rm -f "$f"
    done
    [ -e "$binfmt_ours" ] && echo -1 >"$binfmt_ours" 2>/dev/null
    return 0
}
if [ "$arch" = arm64 ] && [ "$(dpkg --print-architecture)" != arm64 ]; then
    if [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
        mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
    fi
    # Qt's QProcess starts children with clone(CLONE_PIDFD), which qemu-user emulates only from
    # 8.0 on: under bookworm's qemu 7.2 every test that starts mosquitto or our binaries fails
    # with "fork failure: Invalid argument". Where the host's qemu is older, take the static
    # qemu-aarch64 of bookworm-backports' qemu-user package (a Debian package, unpacked into the
    # cache; the host's apt configuration is not changed) and register it for this check.
    qemu=/usr/bin/qemu-aarch64-static
    qemu_major=$("$qemu" --version 2>/dev/null | sed -n 's/.*version \([0-9]*\)\..*/\1/p' | head -n1)
    if [ "${qemu_major:-0}" -lt 8 ]; then
        qemu=$cache/qemu/usr/bin/qemu-aarch64
        if [ ! -x "$qemu" ]; then
            log "qemu-user ${qemu_major:-?} here is too old for QProcess; fetching bookworm-backports' qemu-user"
            aptdir=$cache/apt-backports
            mkdir -p "$aptdir/lists/partial" "$aptdir/archives/partial" "$cache/qemu"
            echo "deb $mirror bookworm-backports main" >"$aptdir/sources.list"
            apt_opts=(-o "Dir::Etc::SourceList=$aptdir/sources.list" -o Dir::Etc::SourceParts=/dev/null
                -o "Dir::State::Lists=$aptdir/lists" -o "Dir::Cache::Archives=$aptdir/archives"
                -o APT::Sandbox::User=root -q)
            apt-get "${apt_opts[@]}" update >/dev/null
            rm -f "$aptdir"/qemu-user_*.deb
            (cd "$aptdir" && apt-get "${apt_opts[@]}" download qemu-user/bookworm-backports >/dev/null)
            dpkg-deb -x "$aptdir"/qemu-user_*.deb "$cache/qemu"
        fi
        # Entries registered later are matched first; F opens the emulator now, so it works
        # inside the chroot. Removed again when the last arm64 check that uses it ends (each
        # check leaves its pid in $cache/binfmt-users).
        mkdir -p "$cache/binfmt-users"
        binfmt_ours=/proc/sys/fs/binfmt_misc/nightlight-aarch64
        touch "$cache/binfmt-users/$$"
        trap release_binfmt EXIT
        if [ ! -e "$binfmt_ours" ]; then
            printf '%s' ':nightlight-aarch64:M::\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00:\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff:'"$qemu"':F' \
                >/proc/sys/fs/binfmt_misc/register
        fi
        entry=/proc/sys/fs/binfmt_misc/nightlight-aarch64
    else
        [ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] || update-binfmts --enable qemu-aarch64 || true
        entry=/proc/sys/fs/binfmt_misc/qemu-aarch64
    fi
    if ! grep -qs '^flags: .*F' "$entry"; then
        log "binfmt_misc has no aarch64 entry with the F flag; cannot run arm64 code here"
        result FAIL
        exit 1
    fi
    log "arm64 code runs under $("$qemu" --version | head -n1)"
fi

# --- the pristine root, made once and cached -------------------------------------------------------
base=$cache/base-$suite-$arch
if [ ! -e "$base/.nightlight-complete" ]; then
    log "making the $suite $arch root in $base (debootstrap, minbase; once)"
    rm -rf "$base.partial"
    if ! debootstrap --variant=minbase --arch="$arch" "$suite" "$base.partial" "$mirror" \
        >"$out/debootstrap.log" 2>&1; then
        log "debootstrap failed; the end of $out/debootstrap.log:"
        tail -n 20 "$out/debootstrap.log" >&2
        result FAIL
        exit 1
    fi
    # What a fresh Debian or Raspberry Pi OS install has: the release with its updates and
    # security suites (bookworm's mosquitto comes from the security suite).
    cat >"$base.partial/etc/apt/sources.list" <<EOF
deb $mirror $suite main
deb $mirror $suite-updates main
deb $security $suite-security main
EOF
    # No daemon starts inside the root while packages install (policy-rc.d, as in Debian's
    # own build roots); the checks start what they need themselves.
    printf '#!/bin/sh\nexit 101\n' >"$base.partial/usr/sbin/policy-rc.d"
    chmod 755 "$base.partial/usr/sbin/policy-rc.d"
    rm -rf "$base"
    mv "$base.partial" "$base"
    touch "$base/.nightlight-complete"
fi
if [ "$prepare" = 1 ]; then
    log "pristine root: $base"
    result PASS
    exit 0
fi

# --- a fresh work root per check -------------------------------------------------------------------
work=$(mktemp -d "$cache/work-$suite-$arch.XXXXXX")
mounted=()
cleanup() {
    local m
    trap '' INT TERM # a second signal must not stop the unmounting half-way
    # Whatever still runs inside the root (a build when the check was stopped) goes first: it
    # would hold the mounts and write into what is being deleted.
    local p r
    for p in /proc/[0-9]*; do
        r=$(readlink "$p/root" 2>/dev/null) || continue
        case "$r" in "$work"/*) kill -KILL "${p#/proc/}" 2>/dev/null || true ;; esac
    done
    for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
        m=${mounted[i]}
        umount -l "$m" 2>/dev/null || true
    done
    release_binfmt || true
    if [ "$keep" = 1 ]; then
        log "work root kept: $work"
    else
        rm -rf --one-file-system "$work"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# fresh_root DIR: a copy of the pristine root with /proc, /sys, /dev and a resolver, ready to
# chroot into.
fresh_root() {
    local r=$1
    cp -a --reflink=auto "$base/." "$r/"
    mount -t proc proc "$r/proc" && mounted+=("$r/proc")
    mount -t sysfs sysfs "$r/sys" && mounted+=("$r/sys")
    mount --bind /dev "$r/dev" && mounted+=("$r/dev")
    mount -t devpts -o newinstance,ptmxmode=0666 devpts "$r/dev/pts" && mounted+=("$r/dev/pts")
    mount -t tmpfs -o mode=1777 tmpfs "$r/dev/shm" && mounted+=("$r/dev/shm")
    mount -t tmpfs -o mode=1777 tmpfs "$r/tmp" && mounted+=("$r/tmp")
    cp -L /etc/resolv.conf "$r/etc/resolv.conf" 2>/dev/null || true
}

# in_root DIR COMMAND...: runs a command in the root as root, with the environment of a fresh
# login (nothing of this shell's), CI=true so scripts know they run unattended.
in_root() {
    local r=$1
    shift
    chroot "$r" /usr/bin/env -i HOME=/root USER=root LOGNAME=root SHELL=/bin/bash \
        PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 CI=true \
        TERM=dumb "$@"
}

# The clone: HEAD of this checkout, as a fresh `git clone` (no build directory, no untracked
# or uncommitted files).
clone_into() {
    local r=$1
    local head
    head=$(git -C "$here" rev-parse HEAD)
    git clone -q --no-hardlinks "$here" "$r/root/nightlight"
    git -C "$r/root/nightlight" checkout -q --detach "$head"
    log "cloned $(git -C "$here" log -1 --format='%h %s' HEAD)"
}

root=$work/root
mkdir -p "$root"
fresh_root "$root"
clone_into "$root"

status=PASS
if [ "$packages" = 0 ]; then
    # 1. The README's test command, exactly.
    log "running scripts/test.sh $preset in the root (log: $out/test.log)"
    test_cmd=(bash scripts/test.sh)
    [ "$preset" != dev ] && test_cmd+=("$preset")
    t0=$(date +%s)
    if in_root "$root" bash -c 'cd /root/nightlight && "$@"' _ "${test_cmd[@]}" \
        >"$out/test.log" 2>&1; then
        log "test command passed in $(( $(date +%s) - t0 )) s"
    else
        log "test command FAILED after $(( $(date +%s) - t0 )) s; the end of $out/test.log:"
        tail -n 40 "$out/test.log" >&2
        status=FAIL
    fi
    # CTest's closing lines, for whoever reads this output (CI counts the tests from them).
    sed -n '/^Test project/,$p' "$out/test.log" | grep -vE '^ +Start +[0-9]+:' || true

    # 2. The README's run command for a few seconds on an Xvfb display, and a screenshot of it.
    if [ "$run" = 1 ] && [ "$status" = PASS ]; then
        log "running scripts/run.sh on Xvfb (log: $out/run.log)"
        cp "$here/scripts/root-run.sh" "$root/tmp/root-run.sh"
        rm -f "$out"/run-shot-*.png
        if in_root "$root" bash /tmp/root-run.sh /root/nightlight /tmp/run-shot \
            >"$out/run.log" 2>&1; then
            cp "$root"/tmp/run-shot-*.png "$out/"
            log "run command worked; screenshots: $out/run-shot-en.png $out/run-shot-bn.png"
        else
            cp "$root"/tmp/run-shot-*.png "$out/" 2>/dev/null || true
            log "run command FAILED; the end of $out/run.log:"
            tail -n 30 "$out/run.log" >&2
            status=FAIL
        fi
    fi
else
    # Packages: build them in this root, then install them in a second, untouched root.
    log "building the packages in the root (log: $out/package-build.log)"
    if in_root "$root" bash -c 'cd /root/nightlight && bash scripts/make-packages.sh /tmp/debs' \
        >"$out/package-build.log" 2>&1; then
        rm -f "$out"/*.deb
        cp "$root"/tmp/debs/*.deb "$out/"
        log "packages: $(cd "$out" && ls ./*.deb | tr '\n' ' ')"
        clean=$work/clean
        mkdir -p "$clean"
        fresh_root "$clean"
        mkdir -p "$clean/tmp/debs"
        cp "$out"/*.deb "$clean/tmp/debs/"
        cp "$here/scripts/package-check.sh" "$clean/tmp/package-check.sh"
        log "installing and trying them in a fresh root (log: $out/package-check.log)"
        if in_root "$clean" bash /tmp/package-check.sh /tmp/debs /tmp/package-shot.png \
            >"$out/package-check.log" 2>&1; then
            [ -e "$clean/tmp/package-shot.png" ] && cp "$clean/tmp/package-shot.png" "$out/"
            log "packages install, run and purge cleanly"
        else
            log "package check FAILED; the end of $out/package-check.log:"
            tail -n 40 "$out/package-check.log" >&2
            status=FAIL
        fi
    else
        log "package build FAILED; the end of $out/package-build.log:"
        tail -n 40 "$out/package-build.log" >&2
        status=FAIL
    fi
fi

if [ "$shell" = 1 ]; then
    in_root "$root" bash -i </dev/tty || true
fi
result "$status"
[ "$status" = PASS ]

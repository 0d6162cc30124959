#!/usr/bin/env bash
# Installs every build, test and run dependency from Debian bookworm / Raspberry Pi OS bookworm
# packages. Idempotent: apt-get skips what is already there. Needs root (or sudo).
set -euo pipefail

packages=(
    build-essential cmake ninja-build pkg-config clang-format git
    qt6-base-dev qt6-base-dev-tools qt6-tools-dev qt6-tools-dev-tools qt6-l10n-tools
    qt6-svg-dev libqt6svg6 libqt6sql6-sqlite libgl-dev
    qtkeychain-qt6-dev
    libmosquitto-dev mosquitto mosquitto-clients
    libgpiod-dev
    openssl xvfb xauth
    sqlite3          # scripts/soak.sh and scripts/bench-fleet.sh (CTest fleet-status) read the database
    dpkg-dev file    # scripts/make-packages.sh: CPack's DEB generator runs dpkg-shlibdeps and file
    fonts-lohit-beng-bengali
)
if [ "${NIGHTLIGHT_WITH_CHARTS_BENCH:-0}" = 1 ]; then
    packages+=(qt6-charts-dev)
fi

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "install-deps: all ${#packages[@]} packages already installed"
    exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "install-deps: run as root or install sudo" >&2; exit 1; }
    sudo=sudo
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"

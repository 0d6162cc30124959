#!/usr/bin/env bash
# The README's test command: installs dependencies, builds with the `dev` preset (warnings are
# errors) and runs every test suite through CTest, two at a time.
#   scripts/test.sh          dev preset
#   scripts/test.sh asan     AddressSanitizer + UBSan preset
set -euo pipefail
cd "$(dirname "$0")/.."
preset=${1:-dev}

bash scripts/install-deps.sh
cmake --preset "$preset"
cmake --build --preset "$preset" -j"$(nproc)"
ctest --preset "$preset" -j2

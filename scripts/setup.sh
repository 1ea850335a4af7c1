#!/bin/sh
# Installs everything hftc needs to build, test and run its demo, from Debian's packages.
# Safe to run again: packages already installed are left alone.
set -eu

packages="build-essential cmake pkg-config libopenblas-openmp-dev libjansson-dev libutf8proc-dev libmicrohttpd-dev zlib1g-dev liblinear-dev liblinear-tools libopenmpi-dev openmpi-bin wordnet-base python3 python3-numpy python3-sklearn python3-venv python3-setuptools python3-wheel python3-pip"
# The fuzz build (scripts/fuzz): clang, its runtimes (libFuzzer, ASan, UBSan: libclang-rt-14-dev) and its OpenMP.
packages="$packages clang libclang-rt-14-dev libomp-dev"
# The headless browser the report's test renders its page in (tests/test_report.c).
packages="$packages chromium"
# Only for regenerating golden files and running the PyTorch side of the benchmarks: scripts/setup.sh --dev
if [ "${1:-}" = "--dev" ]; then
    packages="$packages python3-torch clang-format"
fi

missing=""
for p in $packages; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    sudo=sudo
else
    sudo=
fi
echo "setup: installing$missing"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null

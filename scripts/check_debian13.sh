#!/usr/bin/env bash
# Run `.ci/run` (make test, a cold make site, the browser suite) on Debian 13 (trixie) with its
# Python 3.13, in a fresh clone, as a new user there would: pip then picks mkdocs-jupyter 0.27,
# numpy 2.5 and pandas 3. Needs root and debootstrap (apt-get install debootstrap) on a Debian
# or Ubuntu host that can reach the Debian mirror.
#
#     sudo scripts/check_debian13.sh [ROOT_DIR]      # default ROOT_DIR: ../debian13
#
# The root is kept (a second run reuses it); the clone inside is made anew from HEAD. The MNIST
# files are bind-mounted read-only from ../shared/data/mnist or $MNIST_BOOK_DATA_DIR. The log
# of the run is ROOT_DIR/work/ci.log; the exit status is that of `.ci/run`.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
root="$(mkdir -p "${1:-$repo/../debian13}" && cd "${1:-$repo/../debian13}" && pwd)"
data="${MNIST_BOOK_DATA_DIR:-$repo/../shared/data/mnist}"
# (A host may have only deb822 sources, or none: no match falls back to deb.debian.org.)
mirror="$(grep -rhoE 'https?://[^ ]+/debian/?' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null | head -n1 || true)"
mirror="${mirror:-http://deb.debian.org/debian}"

[ -f "$data/train-images-idx3-ubyte.gz" ] || { echo "No MNIST files in $data: set MNIST_BOOK_DATA_DIR." >&2; exit 1; }
if [ ! -x "$root/usr/bin/python3" ]; then
  echo "== debootstrap trixie into $root from $mirror"
  debootstrap --include=python3,python3-venv,python3-pip,make,git,ca-certificates trixie "$root" "$mirror"
fi
cp /etc/resolv.conf "$root/etc/resolv.conf"
cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt" 2>/dev/null || true

mounts=()
bind() { mkdir -p "$root$2"; mountpoint -q "$root$2" || { mount --bind $3 "$1" "$root$2"; mounts+=("$root$2"); }; }
cleanup() { for ((i=${#mounts[@]}-1; i>=0; i--)); do umount "${mounts[i]}" || true; done; }
trap cleanup EXIT
bind /proc /proc; bind /sys /sys; bind /dev /dev; bind /dev/pts /dev/pts
bind "$data" /work/shared/data/mnist "-o ro"
bind "$repo" /srv/repo "-o ro"

rm -rf "$root/work/main"
chroot "$root" git clone -q /srv/repo /work/main
echo "== $(chroot "$root" python3 --version) in $root: .ci/run (log: $root/work/ci.log)"
status=0
chroot "$root" env HOME=/root CI=true bash -c 'cd /work/main && time bash .ci/run' \
  > "$root/work/ci.log" 2>&1 || status=$?
tail -n 8 "$root/work/ci.log"
exit $status

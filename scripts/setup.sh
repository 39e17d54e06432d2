#!/usr/bin/env bash
# Install what libswapobj needs on Debian 12 (idempotent; run as root).
set -euo pipefail
pkgs=(build-essential cmake pkg-config libzstd-dev zstd libxxhash-dev liburing-dev check libfuse3-dev fuse3
      librocksdb-dev liblmdb-dev clang-format libclang-rt-14-dev attr)
missing=()
for p in "${pkgs[@]}"; do
	dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "setup: installing ${missing[*]}"
	SUDO=""
	[ "$(id -u)" -ne 0 ] && SUDO=sudo
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

#!/usr/bin/env bash
# Installs the ONNX Runtime shared library that transfer loads at run time.
#
# The library comes from the npm package onnxruntime-node, whose tarball holds
# the official CPU build for Linux (x64, arm64) and macOS (arm64). The script
# needs npm, tar and sha256sum (or shasum), no compiler and no network beyond
# the npm registry. It is idempotent: when the verified library is already in
# place it downloads nothing.
#
# It then runs scripts/install-libturbojpeg.sh, which installs the optional
# libjpeg-turbo when it can (root with apt-get, Homebrew) and otherwise says
# how; that step never fails the script.
#
# Usage: scripts/install-onnxruntime.sh [--print-path]
# Environment:
#   ORT_VERSION       onnxruntime-node version (default 1.30.0; only versions
#                     with a pinned checksum below are accepted)
#   XDG_CACHE_HOME    base of the per-user cache (default ~/.cache), the same
#                     directory transfer searches (os.UserCacheDir)
set -euo pipefail

version=${ORT_VERSION:-1.30.0}
print_path=0
for arg in "$@"; do
	case "$arg" in
	--print-path) print_path=1 ;;
	-h | --help)
		sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'
		exit 0
		;;
	*)
		echo "install-onnxruntime: unknown argument $arg (try --help)" >&2
		exit 2
		;;
	esac
done

# The optional JPEG library first; it never fails.
if [ "$print_path" = 0 ]; then
	"$(dirname "$0")/install-libturbojpeg.sh"
fi

os=$(uname -s)
arch=$(uname -m)
case "$os/$arch" in
Linux/x86_64) platform=linux/x64 lib=libonnxruntime.so.1 ;;
Linux/aarch64 | Linux/arm64) platform=linux/arm64 lib=libonnxruntime.so.1 ;;
Darwin/arm64) platform=darwin/arm64 lib=libonnxruntime.$version.dylib ;;
*)
	echo "install-onnxruntime: no prebuilt ONNX Runtime for $os/$arch in onnxruntime-node;" \
		"install ONNX Runtime >= 1.24 yourself and point ONNXRUNTIME_LIB at it" >&2
	exit 1
	;;
esac

# Checksums of the library files inside the npm tarball, pinned so that a
# changed or corrupted package is refused rather than loaded.
case "$version/$platform" in
1.30.0/linux/x64) want=ffb75a925ba05e47b235bb66e3e3911714a80b328a9c9425539feb204aa32a23 ;;
1.30.0/linux/arm64) want=1f549d46250b005580b597f4164984aaf75b3bcb9f3aeb07c7f8a8fe60b23c76 ;;
1.30.0/darwin/arm64) want=685d2be5dba1309c89d3a5324b7fd06a5c42f1a61bfea32d14c4cc28d072121d ;;
*)
	echo "install-onnxruntime: no pinned checksum for onnxruntime-node $version on $platform" >&2
	exit 1
	;;
esac

sha256() {
	if command -v sha256sum >/dev/null 2>&1; then
		sha256sum "$1" | cut -d' ' -f1
	else
		shasum -a 256 "$1" | cut -d' ' -f1
	fi
}

dir="${XDG_CACHE_HOME:-$HOME/.cache}/transfer/onnxruntime/$version"
dest="$dir/$lib"

if [ -f "$dest" ] && [ "$(sha256 "$dest")" = "$want" ]; then
	[ "$print_path" = 1 ] && echo "$dest" || echo "onnxruntime $version already installed: $dest" >&2
	exit 0
fi

command -v npm >/dev/null 2>&1 || {
	echo "install-onnxruntime: npm is required to fetch onnxruntime-node (install Node.js)" >&2
	exit 1
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "install-onnxruntime: fetching onnxruntime-node@$version from the npm registry" >&2
(cd "$tmp" && npm pack --silent "onnxruntime-node@$version" >/dev/null)
tarball=$(ls "$tmp"/onnxruntime-node-*.tgz)
member="package/bin/napi-v6/$platform/$lib"
tar -xzf "$tarball" -C "$tmp" "$member"
got=$(sha256 "$tmp/$member")
if [ "$got" != "$want" ]; then
	echo "install-onnxruntime: checksum mismatch for $member: got $got, want $want" >&2
	exit 1
fi

mkdir -p "$dir"
# Copy beside the destination, then rename: a reader never sees a half-written
# library, and an interrupted install leaves the old state.
cp "$tmp/$member" "$dest.partial.$$"
mv -f "$dest.partial.$$" "$dest"
if [ "$print_path" = 1 ]; then
	echo "$dest"
else
	echo "onnxruntime $version installed: $dest" >&2
fi

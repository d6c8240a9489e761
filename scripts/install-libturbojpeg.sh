#!/usr/bin/env bash
# Installs libjpeg-turbo's TurboJPEG library when it can, and otherwise says
# how. transfer loads it at run time: JPEGs decode 2-4x faster (large photos
# far more, decoded at a reduced scale); without it transfer uses Go's
# decoder. Never fails: the library is optional.
#
# Usage: scripts/install-libturbojpeg.sh
set -uo pipefail

have() {
	case "$(uname -s)" in
	Darwin) [ -e /opt/homebrew/lib/libturbojpeg.dylib ] || [ -e /usr/local/lib/libturbojpeg.dylib ] ;;
	*) ldconfig -p 2>/dev/null | grep -q 'libturbojpeg\.so' ;;
	esac
}

if have; then
	echo "install-libturbojpeg: libturbojpeg is installed" >&2
	exit 0
fi
if [ "$(uname -s)" = Darwin ] && command -v brew >/dev/null 2>&1; then
	brew install jpeg-turbo >/dev/null 2>&1 && have && { echo "install-libturbojpeg: installed jpeg-turbo with Homebrew" >&2; exit 0; }
elif command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
	{ apt-get install -y -q libturbojpeg0 || { apt-get update -q && apt-get install -y -q libturbojpeg0; }; } >/dev/null 2>&1
	have && { echo "install-libturbojpeg: installed libturbojpeg0 with apt-get" >&2; exit 0; }
fi
echo "install-libturbojpeg: libturbojpeg is not installed, so JPEGs decode with Go's decoder (2-4x slower);" \
	"install it for speed: Debian/Ubuntu: sudo apt-get install libturbojpeg0; Fedora: sudo dnf install turbojpeg;" \
	"macOS: brew install jpeg-turbo" >&2
exit 0

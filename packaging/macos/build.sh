#!/usr/bin/env bash
# Builds the macOS installer of the terminal:
#
#   packaging/macos/build.sh
#
#   dist/Terminal.app                          the application bundle
#   dist/terminal-VERSION-macos-ARCH.dmg       a disk image holding it, beside a
#                                              link to /Applications to drag it to
#
# Needs Python >= 3.12 (TERMINAL_PYTHON, else python3.12, else python3) and
# Xcode's command line tools (clang for the backtest kernels; codesign, hdiutil
# ship with macOS). The app is signed ad hoc (runs on the machine that built
# it, and elsewhere after the user allows it); set CODESIGN_IDENTITY to a
# Developer ID to sign for distribution (notarization is a separate step, not
# scripted here). Run by .github/workflows/installers.yml; not run on the Linux
# machine this was written on.
set -euo pipefail
cd "$(dirname "$0")/../.."
say() { echo "build-macos: $*"; }

python="${TERMINAL_PYTHON:-}"
if [ -z "$python" ]; then
    python=$(command -v python3.12 || command -v python3)
fi
[ -x .venv/bin/python ] || "$python" -m venv .venv
py=.venv/bin/python
"$py" -c 'import sys; assert sys.version_info >= (3, 12), sys.version'
"$py" -m pip install --quiet --upgrade pip
# The versions of requirements.lock, without its hashes: the lock is resolved on Linux
# and has neither macOS's own dependencies nor their hashes (packaging/README.md)
mkdir -p build
grep -E '^[A-Za-z0-9]' requirements.lock | cut -d' ' -f1 > build/constraints.txt
"$py" -m pip install --quiet -c build/constraints.txt . -r packaging/requirements.txt
version=$("$py" packaging/metadata.py version)
name=$("$py" packaging/metadata.py display_name)
arch=$(uname -m)
say "$name $version for $arch"

# the backtest kernels, compiled ahead of time (Xcode's clang): the spec takes them
# from build/aot/ and leaves numba and llvmlite out
"$py" packaging/aot_kernels.py
rm -rf "dist/$name.app" dist/terminal
"$py" -m PyInstaller --noconfirm --log-level WARN --distpath dist --workpath build/pyinstaller packaging/terminal.spec
app="dist/$name.app"
codesign --force --deep --sign "${CODESIGN_IDENTITY:--}" "$app"
codesign --verify --deep --strict "$app"
QT_QPA_PLATFORM=offscreen "$app/Contents/MacOS/terminal" --self-test
say "$app: $(du -sh "$app" | cut -f1)"

# -- the disk image: the app and a link to /Applications
stage=build/dmg
rm -rf "$stage"
mkdir -p "$stage"
cp -R "$app" "$stage/"
ln -s /Applications "$stage/Applications"
dmg="dist/terminal-$version-macos-$arch.dmg"
rm -f "$dmg"
hdiutil create -volname "$name $version" -srcfolder "$stage" -fs HFS+ -format UDZO -ov "$dmg"
# check what a user gets: mount it and run the app's self-test from there
mount=$(mktemp -d)
hdiutil attach "$dmg" -nobrowse -readonly -mountpoint "$mount" >/dev/null
trap 'hdiutil detach "$mount" -quiet || true' EXIT
QT_QPA_PLATFORM=offscreen "$mount/$name.app/Contents/MacOS/terminal" --self-test
say "$dmg: $(du -h "$dmg" | cut -f1)"

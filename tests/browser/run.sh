#!/usr/bin/env bash
# Runs the browser tests (dashboard.test.mjs: the admin dashboard;
# mesh.test.mjs: a page as a WebSocket client of the mesh) against the
# daemons of one build: installs Debian's chromium if /usr/bin/chromium is missing, and
# playwright-core from package-lock.json, then runs the tests. Its last line is
# "N passed, N failed"; the exit status is non-zero on any failure.
#
#   PUSHGATE_BUILD=build tests/browser/run.sh     (default: build/ in the repository)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)

build=${PUSHGATE_BUILD:-$repo/build}
case $build in /*) ;; *) build=$PWD/$build ;; esac
export PUSHGATE_BUILD=$build

say() { printf '==> %s\n' "$*" >&2; }
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"

apt_updated=0
apt_install() {
    export DEBIAN_FRONTEND=noninteractive
    if [ "$apt_updated" = 0 ]; then
        $sudo apt-get update -qq
        apt_updated=1
    fi
    $sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

chromium=${CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$chromium" ]; then
    say "installing chromium"
    apt_install chromium fonts-liberation
fi

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    say "installing nodejs and npm"
    apt_install nodejs npm
fi
major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 20 ]; then
    echo "browser test: playwright-core needs Node.js 20 or later; this is $(node --version)" >&2
    echo "0 passed, 1 failed"
    exit 1
fi

cd "$here"
want=$(node -p 'require("./package.json").dependencies["playwright-core"]')
have=$(node -p 'try { require("./node_modules/playwright-core/package.json").version } catch (e) { "" }')
if [ "$want" != "$have" ]; then
    say "installing playwright-core $want (npm ci)"
    npm ci --no-audit --no-fund --loglevel=error >&2
fi

# Each test prints "N passed, N failed" last; the sum is this script's.
# The mesh test's service needs Node's WebSocket (a flag before Node 22).
wsflag=""
[ "$(node -p 'typeof WebSocket')" = function ] || wsflag=--experimental-websocket
passed=0 failed=0
for t in "dashboard.test.mjs" "$wsflag mesh.test.mjs"; do
    # shellcheck disable=SC2086 # the flag and the file are two words
    out=$(node $t 2>&1) || true
    printf '%s\n' "$out" | sed '$d'
    line=$(printf '%s\n' "$out" | tail -1)
    if [[ $line =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
        passed=$((passed + BASH_REMATCH[1]))
        failed=$((failed + BASH_REMATCH[2]))
    else
        printf '%s\n' "$line"
        failed=$((failed + 1))
    fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

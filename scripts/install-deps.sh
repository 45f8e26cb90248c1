#!/usr/bin/env bash
# Installs what pikoci-node needs on Debian 12, and nothing else.
#   install-deps.sh --run        building and running the node (`make run`)
#   install-deps.sh [--test]     that and the test toolchain (`make test`, `make build`)
#   install-deps.sh --list run|test
#                                prints those packages, one a line, and installs nothing
# The web UI (ui/) is built with Node.js: --run also runs `npm ci --omit=dev` in ui/ (esbuild,
# TypeScript, Preact: the npm registry is used at build time only), --test the full `npm ci`
# (playwright-core and axe-core for the browser tests, which drive Debian's chromium).
# Idempotent: packages already present are not touched; apt-get runs only when one is missing,
# npm only when ui/package-lock.json changed since its last install of that kind.
set -euo pipefail

# Building the node and what its builds run: git for the git resource, curl for the README's
# examples, ca-certificates for https sources. doctest-dev is needed to configure the project.
run_packages=(
  build-essential cmake ninja-build ccache pkg-config git
  libcaf-dev librestinio-dev libasio-dev libhttp-parser-dev libfmt-dev
  librocksdb-dev librdkafka-dev nlohmann-json3-dev doctest-dev
  libcli11-dev libspdlog-dev libcurl4-openssl-dev libssl-dev libre2-dev
  curl ca-certificates
)
# Node.js and npm build the web UI; any recent Node.js will do (Debian 12's is 18), so they are
# installed only when the command is missing.
run_tools=(node:nodejs npm:npm)
test_packages=(
  clang-format  # `make format`
  python3       # the differential tests, the Kafka broker script, the service tests
  e2fsprogs mount  # the store fault tests: an ext4 image on a loop device, tmpfs mounts
  postgresql postgresql-client  # the service tests
  chromium fonts-liberation     # the web UI's browser tests and their screenshots
)
# The test tools that may come from elsewhere than apt (installed only when the command is
# missing), as command:package. Go builds the reference HCL tool of the differential tests
# (tests/differential/hcl2json); Java 17+ runs the real Kafka broker of the Kafka tests
# (scripts/kafka-broker.sh) and Maven fetches its jars from Maven Central once.
test_tools=(go:golang-go java:default-jre-headless mvn:maven)

usage() {
  echo "usage: $(basename "$0") [--run | --test | --list run|test]" >&2
  exit 2
}

mode=test
list=false
case "${1:-}" in
  "" | --test) ;;
  --run) mode=run ;;
  --list)
    list=true
    case "${2:-}" in
      run | test) mode=$2 ;;
      *) usage ;;
    esac
    ;;
  *) usage ;;
esac

packages=("${run_packages[@]}")
for t in "${run_tools[@]}"; do
  if $list || ! command -v "${t%%:*}" > /dev/null 2>&1; then packages+=("${t#*:}"); fi
done
if [ "$mode" = test ]; then
  packages+=("${test_packages[@]}")
  for t in "${test_tools[@]}"; do
    if $list || ! command -v "${t%%:*}" > /dev/null 2>&1; then packages+=("${t#*:}"); fi
  done
fi
here=$(cd "$(dirname "$0")/.." && pwd)
# The npm packages of ui/package.json that the mode installs, as npm:NAME@VERSION.
npm_packages() {
  local sections=dependencies
  [ "$mode" = test ] && sections="dependencies|devDependencies"
  awk -v want="^\"($sections)\"" '
    /^  "[A-Za-z]+": *\{/ { inside = ($1 ~ want); next }
    /^  \}/ { inside = 0 }
    inside && /"/ { gsub(/[",]/, ""); sub(/:/, "@"); gsub(/ /, ""); print "npm:" $0 }
  ' "$here/ui/package.json"
}
if $list; then
  printf '%s\n' "${packages[@]}"
  npm_packages
  exit 0
fi

# npm ci in ui/ when its lockfile or the kind of install (run: no devDependencies) changed.
ui_modules() {
  local stamp="$here/ui/node_modules/.pikoci-install"
  local lock
  lock=$(sha256sum "$here/ui/package-lock.json" | cut -d' ' -f1)
  if [ -f "$stamp" ]; then
    read -r have_mode have_lock < "$stamp" || true
    if [ "$have_lock" = "$lock" ] && { [ "$have_mode" = test ] || [ "$mode" = run ]; }; then
      return 0
    fi
  fi
  local omit=()
  [ "$mode" = run ] && omit=(--omit=dev)
  echo "install-deps: npm ci${omit[*]:+ ${omit[*]}} in ui/"
  (cd "$here/ui" && npm ci "${omit[@]}" --no-audit --no-fund --loglevel=error)
  echo "$mode $lock" > "$stamp"
}

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2> /dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  ui_modules
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo > /dev/null 2>&1 || { echo "install-deps: need root or sudo for apt-get" >&2; exit 1; }
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
ui_modules

#!/usr/bin/env bash
# Installs what building and testing pikoci-node needs on Debian 12, and nothing else.
# Idempotent: packages already present are not touched; apt-get runs only when one is missing.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config git clang-format
  libcaf-dev librestinio-dev libasio-dev libhttp-parser-dev libfmt-dev
  librocksdb-dev librdkafka-dev nlohmann-json3-dev doctest-dev
  libcli11-dev libspdlog-dev libcurl4-openssl-dev libssl-dev libre2-dev
  python3 curl ca-certificates
  e2fsprogs mount  # the store fault tests: an ext4 image on a loop device, tmpfs mounts
  postgresql postgresql-client
)
# Go builds the reference HCL tool of the differential tests (tests/differential/hcl2json).
command -v go > /dev/null 2>&1 || packages+=(golang-go)
# Java 17+ runs the real Kafka broker of the Kafka tests (scripts/kafka-broker.sh); Maven fetches
# its jars from Maven Central once.
command -v java > /dev/null 2>&1 || packages+=(default-jre-headless)
command -v mvn > /dev/null 2>&1 || packages+=(maven)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2> /dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
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

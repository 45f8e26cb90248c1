#!/usr/bin/env bash
# `make run`: the server in memory with samples/hello.hcl, plus how to reach it.
# JWT_SECRET and ADMIN_PASSWORD may be set by the caller; random ones are made otherwise.
set -euo pipefail
build_dir=${1:-build}
port=${2:-8080}
bin="$build_dir/pikoci-node"
random() { head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
export JWT_SECRET="${JWT_SECRET:-$(random)}"
export ADMIN_PASSWORD="${ADMIN_PASSWORD:-$(random)}"
token=$("$bin" user-token --role admin --ttl 24h)
url="http://127.0.0.1:$port"
cat <<MSG

  pikoci-node: $url  (pipeline "hello" from samples/hello.hcl, state in memory)

  Log in:   curl -s -X POST $url/api/v1/login -d '{"username":"admin","password":"$ADMIN_PASSWORD"}'
  Client:   export PIKOCI_URL=$url PIKOCI_TOKEN=$token
            $bin client pipelines list
            $bin client jobs trigger hello hello
            $bin client builds list hello hello
            $bin client builds logs hello hello 1
  Stop:     Ctrl-C

MSG
exec "$bin" --role server --db-system mem --pubsub-system mem --port "$port" \
  --pipeline-name hello --pipeline-config samples/hello.hcl

#!/usr/bin/env bash
# `make run`: the server in memory with samples/hello.hcl, plus how to reach it.
# JWT_SECRET and ADMIN_PASSWORD may be set by the caller; random ones are made otherwise.
# The password and the token are printed only once the node listens: a node that cannot listen
# (the port is taken) exits non-zero with its error and prints no credential.
set -euo pipefail
build_dir=${1:-build}
port=${2:-8080}
bin="$build_dir/pikoci-node"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
random() { head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
export JWT_SECRET="${JWT_SECRET:-$(random)}"
export ADMIN_PASSWORD="${ADMIN_PASSWORD:-$(random)}"
url="http://127.0.0.1:$port"

banner() {
  local token
  token=$("$bin" user-token --role admin --ttl 24h) || token="(pikoci-node user-token failed)"
  cat <<MSG

  pikoci-node: $url  (pipeline "hello" from samples/hello.hcl, state in memory)

  Web UI:   $url/  (user admin, password $ADMIN_PASSWORD)
  Log in:   curl -s -X POST $url/api/v1/login -d '{"username":"admin","password":"$ADMIN_PASSWORD"}'
  Client:   export PIKOCI_URL=$url PIKOCI_TOKEN=$token
            $bin client pipelines list
            $bin client jobs trigger hello hello
            $bin client builds list hello hello
            $bin client builds logs hello hello 1
  Stop:     Ctrl-C

MSG
}

# The node's log passes through `announce`, which prints the banner after `event=node.ready`.
# The node replaces this shell (exec): Ctrl-C and kill reach it directly and the exit status is
# its own. `announce` ignores Ctrl-C so that it passes the node's last lines while it stops.
announce() {
  trap '' INT
  while IFS= read -r line; do
    printf '%s\n' "$line"
    case $line in
      *event=node.ready*) banner ;;
      *event=http.listen_failed*)
        echo "make run: cannot listen on port $port (see the error above); another port:" \
          "make run PORT=$((port + 1))" >&2
        ;;
    esac
  done
}
exec "$bin" --role server --db-system mem --pubsub-system mem --port "$port" \
  --pipeline-name hello --pipeline-config "$root/samples/hello.hcl" > >(announce) 2>&1

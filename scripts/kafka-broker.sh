#!/usr/bin/env bash
# A real Apache Kafka broker for tests: one combined broker+controller KRaft node on 127.0.0.1,
# run from Apache Kafka's server jars resolved from Maven Central with mvn and cached.
# Run with --help for the interface.
set -euo pipefail

kafka_version="${PIKOCI_KAFKA_VERSION:-4.1.2}"
cache="${PIKOCI_KAFKA_CACHE:-$HOME/.cache/pikoci/kafka-$kafka_version}"
start_timeout="${PIKOCI_KAFKA_START_TIMEOUT:-90}"
stop_timeout="${PIKOCI_KAFKA_STOP_TIMEOUT:-15}"
jvm_opts="${PIKOCI_KAFKA_JVM_OPTS:--Xmx384m -Xms128m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -XX:-UsePerfData}"
self="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")"

usage() {
  cat <<EOF
Usage: $(basename "$0") fetch
       $(basename "$0") start DIR [PORT]
       $(basename "$0") stop DIR
       $(basename "$0") --help

A single-node Apache Kafka $kafka_version (KRaft, broker+controller) on 127.0.0.1 for tests.

  fetch           resolve kafka_2.13:$kafka_version and its runtime jars with mvn into
                  $cache (once; later calls return at once)
  start DIR [PORT]
                  fetch if needed, write DIR/server.properties, format DIR/data unless it is
                  formatted already, start the broker in the background and wait until it
                  answers a metadata request; prints 127.0.0.1:PORT (the only stdout line).
                  PORT defaults to the one stored in DIR by an earlier start, else a free one;
                  the controller port is stored in DIR too, so start after stop restarts the
                  same broker with its data. Writes DIR/pid, DIR/port, DIR/controller-port,
                  DIR/bootstrap; the broker logs to DIR/broker.log. Already running: prints
                  the address again. DIR/extra.properties, when it exists, is appended to the
                  configuration (its keys win).
  stop DIR        SIGTERM the broker, SIGKILL after ${stop_timeout}s; nothing to do when not running

Environment:
  PIKOCI_KAFKA_VERSION        Kafka version (default 4.1.2)
  PIKOCI_KAFKA_CACHE          jar cache (default ~/.cache/pikoci/kafka-VERSION)
  PIKOCI_KAFKA_START_TIMEOUT  seconds start waits for readiness (default 90)
  PIKOCI_KAFKA_STOP_TIMEOUT   seconds stop waits before SIGKILL (default 15)
  PIKOCI_KAFKA_JVM_OPTS       JVM options (default: $jvm_opts)
  PIKOCI_KAFKA_OWNER_PID      start: stop the broker when this process is gone (for test runs
                              that die without stopping it)

Needs java (17+), mvn (first fetch only), python3, flock, setsid.
EOF
}

log() { echo "kafka-broker: $*" >&2; }
die() {
  log "$*"
  exit 1
}

# --- fetch ---------------------------------------------------------------------------------------

fetch() {
  [ -f "$cache/complete" ] && return 0
  command -v mvn > /dev/null 2>&1 || die "mvn not found (scripts/install-deps.sh installs maven)"
  mkdir -p "$cache"
  # One fetch at a time per cache, for test processes started in parallel.
  (
    flock 9
    [ -f "$cache/complete" ] && exit 0
    log "fetching org.apache.kafka:kafka_2.13:$kafka_version with mvn into $cache"
    rm -rf "$cache"/.fetch.*
    work="$(mktemp -d "$cache/.fetch.XXXXXX")"
    cat > "$work/pom.xml" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>pikoci</groupId>
  <artifactId>kafka-broker-jars</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_2.13</artifactId>
      <version>$kafka_version</version>
    </dependency>
  </dependencies>
</project>
EOF
    mvn_run() {
      if ! mvn -B -q -f "$work/pom.xml" "$@" >> "$work/mvn.log" 2>&1; then
        tail -n 40 "$work/mvn.log" >&2
        die "mvn $1 failed (log: $work/mvn.log)"
      fi
    }
    mvn_run dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$work/jars"
    # Kafka 4.x logs through slf4j to log4j2 but leaves the binding to the distribution: add the
    # one matching its slf4j-api (1.x or 2.x) at its log4j-api version.
    log4j_api="$(find "$work/jars" -name 'log4j-api-2.*.jar' -printf '%f\n' | head -n 1)"
    [ -n "$log4j_api" ] || die "no log4j-api 2.x among kafka $kafka_version's dependencies"
    log4j_version="${log4j_api#log4j-api-}"
    log4j_version="${log4j_version%.jar}"
    binding=log4j-slf4j-impl
    if find "$work/jars" -name 'slf4j-api-2.*.jar' | grep -q .; then binding=log4j-slf4j2-impl; fi
    mvn_run dependency:copy -Dartifact="org.apache.logging.log4j:$binding:$log4j_version" \
      -DoutputDirectory="$work/jars"
    rm -rf "$cache/jars"
    mv "$work/jars" "$cache/jars"
    rm -rf "$work"
    echo "$kafka_version" > "$cache/complete"
  ) 9> "$cache/.lock"
}

# --- processes -----------------------------------------------------------------------------------

# True when PID exists and is not a zombie.
alive() {
  local stat
  stat="$(cat "/proc/$1/stat" 2> /dev/null)" || return 1
  stat="${stat##*) }"
  [ "${stat:0:1}" != Z ]
}

# True when PID is a live broker of DIR (guards against a reused pid).
is_broker_of() {
  alive "$1" || return 1
  tr '\0' ' ' < "/proc/$1/cmdline" 2> /dev/null | grep -qF "$2/server.properties"
}

# Waits up to $2 seconds for PID $1 to be gone.
wait_gone() {
  local deadline=$((SECONDS + $2))
  while alive "$1"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.1
  done
}

# Prints N free TCP ports on 127.0.0.1, one a line, all different.
free_ports() {
  python3 - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
for s in socks:
    print(s.getsockname()[1])
EOF
}

# True when the broker at 127.0.0.1:$1 answers a Metadata (v4) request listing a broker.
metadata_ok() {
  python3 - "$1" << 'EOF' > /dev/null 2>&1
import socket, struct, sys
client = b"pikoci-kafka-broker.sh"
req = struct.pack(">hhih", 3, 4, 42, len(client)) + client + struct.pack(">ib", 0, 0)
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=3)
s.sendall(struct.pack(">i", len(req)) + req)
def read(n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            sys.exit(1)
        b += c
    return b
size, = struct.unpack(">i", read(4))
corr, _throttle, brokers = struct.unpack(">iii", read(size)[:12])
sys.exit(0 if corr == 42 and brokers >= 1 else 1)
EOF
}

# --- start ---------------------------------------------------------------------------------------

write_config() {
  local dir=$1 port=$2 cport=$3
  cat > "$dir/server.properties" <<EOF
# Written by scripts/kafka-broker.sh at each start.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
log.dirs=$dir/data
num.partitions=1
default.replication.factor=1
auto.create.topics.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
share.coordinator.state.topic.num.partitions=1
group.initial.rebalance.delay.ms=0
message.max.bytes=16777216
replica.fetch.max.bytes=16777216
replica.fetch.response.max.bytes=33554432
log.segment.bytes=33554432
log.retention.ms=3600000
log.retention.bytes=268435456
log.retention.check.interval.ms=60000
log.cleaner.dedupe.buffer.size=16777216
num.network.threads=2
num.io.threads=2
background.threads=2
num.recovery.threads.per.data.dir=1
EOF
  # a test's own settings (another listener, ...): later keys win
  if [ -f "$dir/extra.properties" ]; then cat "$dir/extra.properties" >> "$dir/server.properties"; fi
  cat > "$dir/log4j2.properties" <<EOF
status = warn
appender.file.type = File
appender.file.name = FILE
appender.file.fileName = $dir/broker.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.file.ref = FILE
# "Kafka Server started" is how start knows the broker is up.
logger.raft.name = kafka.server.KafkaRaftServer
logger.raft.level = INFO
logger.broker.name = kafka.server.BrokerServer
logger.broker.level = INFO
logger.controller.name = kafka.server.ControllerServer
logger.controller.level = INFO
EOF
}

print_logs() {
  local dir=$1 f
  for f in "$dir/format.log" "$dir/stdout.log" "$dir/broker.log"; do
    [ -s "$f" ] || continue
    echo "--- tail of $f" >&2
    tail -n 40 "$f" >&2
  done
}

# Launches the broker and waits for it: 0 ready, 1 failed, 2 a port was taken.
launch() {
  local dir=$1 port=$2 cport=$3 pid
  write_config "$dir" "$port" "$cport"
  if [ -f "$dir/broker.log" ]; then mv -f "$dir/broker.log" "$dir/broker.log.1"; fi
  if [ ! -f "$dir/data/meta.properties" ]; then
    # A random Kafka Uuid (16 bytes, url-safe base64); not starting with "-", which the storage
    # tool would take for an option (Kafka's own Uuid.randomUuid avoids it too).
    local cluster_id="-"
    while [[ $cluster_id == -* ]]; do
      cluster_id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')"
    done
    # shellcheck disable=SC2086 # jvm_opts is a list of options
    if ! java $jvm_opts -Dlog4j2.configurationFile="$dir/log4j2.properties" \
      -cp "$cache/jars/*" kafka.tools.StorageTool format -t "$cluster_id" \
      -c "$dir/server.properties" < /dev/null > "$dir/format.log" 2>&1; then
      print_logs "$dir"
      log "formatting $dir/data failed"
      return 1
    fi
  fi
  # Its own session and no inherited descriptors: the caller's pipes close when this script ends.
  # log4j's own shutdown hook would stop the log before the broker's shutdown is logged.
  # shellcheck disable=SC2086 # jvm_opts is a list of options
  setsid java $jvm_opts -Djava.awt.headless=true -Dlog4j2.shutdownHookEnabled=false \
    -Dlog4j2.configurationFile="$dir/log4j2.properties" -Dkafka.logs.dir="$dir" \
    -cp "$cache/jars/*" kafka.Kafka "$dir/server.properties" \
    < /dev/null > "$dir/stdout.log" 2>&1 &
  pid=$!
  echo "$pid" > "$dir/pid"
  local deadline=$((SECONDS + start_timeout))
  while :; do
    if ! alive "$pid"; then
      wait "$pid" 2> /dev/null || true
      if grep -qs "Address already in use" "$dir/broker.log" "$dir/stdout.log"; then return 2; fi
      print_logs "$dir"
      log "broker exited before it was ready"
      return 1
    fi
    if grep -qs "Kafka Server started" "$dir/broker.log" && metadata_ok "$port"; then return 0; fi
    if ((SECONDS >= deadline)); then
      print_logs "$dir"
      log "broker not ready after ${start_timeout}s"
      stop "$dir"
      return 1
    fi
    sleep 0.2
  done
}

# Starts `_watch`, which stops the broker of DIR once PIKOCI_KAFKA_OWNER_PID is gone.
watch_owner() {
  local dir=$1 owner=$2 pid=$3
  stop_watcher "$dir"
  setsid bash "$self" _watch "$dir" "$owner" "$pid" < /dev/null > /dev/null 2>&1 &
  echo "$!" > "$dir/watcher.pid"
}

watch_loop() {
  local dir=$1 owner=$2 pid=$3
  while alive "$owner" && alive "$pid"; do sleep 1; done
  if is_broker_of "$pid" "$dir"; then stop "$dir"; fi
}

stop_watcher() {
  local w
  w="$(cat "$1/watcher.pid" 2> /dev/null)" || return 0
  rm -f "$1/watcher.pid"
  # Not when the watcher is what runs this stop.
  if [ -n "$w" ] && [ "$w" != "$$" ] && alive "$w" &&
    tr '\0' ' ' < "/proc/$w/cmdline" 2> /dev/null | grep -qF "_watch $1 "; then
    kill -TERM "$w" 2> /dev/null || true
  fi
}

start() {
  local dir=$1 port=${2:-} cport="" fresh=0 attempt rc pid
  if [ -n "$port" ] && ! [[ $port =~ ^[0-9]+$ && $port -ge 1 && $port -le 65535 ]]; then
    die "bad port: $port"
  fi
  mkdir -p "$dir"
  dir="$(cd "$dir" && pwd -P)"
  pid="$(cat "$dir/pid" 2> /dev/null)" || pid=""
  if [ -n "$pid" ] && is_broker_of "$pid" "$dir"; then
    if [ -z "$port" ] || [ "$port" = "$(cat "$dir/port")" ]; then
      cat "$dir/bootstrap"
      return 0
    fi
    die "a broker already runs in $dir on another port ($(cat "$dir/port"))"
  fi
  command -v java > /dev/null 2>&1 || die "java not found (scripts/install-deps.sh installs a JRE)"
  command -v python3 > /dev/null 2>&1 || die "python3 not found"
  fetch
  [ -n "$port" ] || port="$(cat "$dir/port" 2> /dev/null)" || port=""
  cport="$(cat "$dir/controller-port" 2> /dev/null)" || cport=""
  [ -n "$port" ] || fresh=1
  for attempt in 1 2 3; do
    if [ -z "$port" ] || [ -z "$cport" ] || [ "$port" = "$cport" ]; then
      local picked
      mapfile -t picked < <(free_ports 3)
      [ -n "$port" ] || port=${picked[0]}
      if [ -z "$cport" ] || [ "$port" = "$cport" ]; then
        cport=${picked[1]}
        [ "$cport" != "$port" ] || cport=${picked[2]}
      fi
    fi
    echo "$port" > "$dir/port"
    echo "$cport" > "$dir/controller-port"
    echo "127.0.0.1:$port" > "$dir/bootstrap"
    rc=0
    launch "$dir" "$port" "$cport" || rc=$?
    [ "$rc" -eq 0 ] && break
    if [ "$rc" -eq 2 ] && [ "$fresh" -eq 1 ] && [ "$attempt" -lt 3 ]; then
      log "port $port or $cport was taken; picking others"
      port=""
      cport=""
      continue
    fi
    [ "$rc" -eq 2 ] && { print_logs "$dir"; log "port $port or $cport is taken"; }
    exit 1
  done
  if [ -n "${PIKOCI_KAFKA_OWNER_PID:-}" ]; then
    watch_owner "$dir" "$PIKOCI_KAFKA_OWNER_PID" "$(cat "$dir/pid")"
  fi
  cat "$dir/bootstrap"
}

# --- stop ----------------------------------------------------------------------------------------

stop() {
  local dir=$1 pid
  [ -d "$dir" ] || return 0
  dir="$(cd "$dir" && pwd -P)"
  pid="$(cat "$dir/pid" 2> /dev/null)" || pid=""
  if [ -n "$pid" ] && is_broker_of "$pid" "$dir"; then
    kill -TERM "$pid" 2> /dev/null || true
    if ! wait_gone "$pid" "$stop_timeout"; then
      log "broker $pid still up after ${stop_timeout}s: SIGKILL"
      kill -KILL "$pid" 2> /dev/null || true
      wait_gone "$pid" 10 || die "broker $pid does not die"
    fi
  fi
  rm -f "$dir/pid"
  stop_watcher "$dir"
}

case "${1:-}" in
  fetch)
    [ $# -eq 1 ] || {
      usage >&2
      exit 2
    }
    fetch
    ;;
  start)
    [ $# -eq 2 ] || [ $# -eq 3 ] || {
      usage >&2
      exit 2
    }
    start "$2" "${3:-}"
    ;;
  stop)
    [ $# -eq 2 ] || {
      usage >&2
      exit 2
    }
    stop "$2"
    ;;
  _watch) watch_loop "$2" "$3" "$4" ;;
  -h | --help | help) usage ;;
  *)
    usage >&2
    exit 2
    ;;
esac

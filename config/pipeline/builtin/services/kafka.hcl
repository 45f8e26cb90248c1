# Apache Kafka in KRaft mode, one node (image apache/kafka:<version>), advertised as
# 127.0.0.1:<port>.
# Docker-based: `docker run -d` of a container named pikoci-<pipeline>-<job>-kafka, published
# on 127.0.0.1 only. A leftover of a crashed build of the same job is removed first.
# Params (all optional): version (default "3.7.0"), port (default "9092").
service_type "kafka" {
  params = ["version", "port"]

  start "shell" {
    cmd = <<-EOT
      NAME="pikoci-$BUILD_PIPELINE_NAME-$BUILD_JOB_NAME-kafka"
      version="$${param_version:-3.7.0}"
      port="$${param_port:-9092}"
      MAP=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,INTERNAL:PLAINTEXT
      docker rm -f "$NAME" > /dev/null 2>&1 || true
      docker run -d --name "$NAME" \
        -p "127.0.0.1:$${port}:9092" \
        -e KAFKA_NODE_ID=1 -e KAFKA_PROCESS_ROLES=broker,controller \
        -e KAFKA_CONTROLLER_QUORUM_VOTERS=1@localhost:9093 \
        -e KAFKA_LISTENERS=PLAINTEXT://:9092,CONTROLLER://:9093,INTERNAL://:19092 \
        -e KAFKA_ADVERTISED_LISTENERS="PLAINTEXT://127.0.0.1:$port,INTERNAL://localhost:19092" \
        -e KAFKA_CONTROLLER_LISTENER_NAMES=CONTROLLER \
        -e KAFKA_INTER_BROKER_LISTENER_NAME=INTERNAL \
        -e KAFKA_LISTENER_SECURITY_PROTOCOL_MAP="$MAP" \
        -e KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR=1 \
        "apache/kafka:$${version}"
    EOT
  }

  ready_check "shell" {
    cmd      = <<-EOT
      NAME="pikoci-$BUILD_PIPELINE_NAME-$BUILD_JOB_NAME-kafka"
      docker exec "$NAME" \
        /opt/kafka/bin/kafka-broker-api-versions.sh --bootstrap-server localhost:19092
    EOT
    interval = "3s"
    timeout  = "120s"
  }

  stop "shell" {
    cmd = <<-EOT
      docker rm -f "pikoci-$BUILD_PIPELINE_NAME-$BUILD_JOB_NAME-kafka" > /dev/null
    EOT
  }
}

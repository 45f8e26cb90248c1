# NATS with JetStream (image nats:<version>-alpine) on 127.0.0.1:<port>.
# Docker-based: `docker run -d` of a container named pikoci-<pipeline>-<job>-nats, published
# on 127.0.0.1 only. A leftover of a crashed build of the same job is removed first.
# Params (all optional): version (default "2"), port (default "4222").
service_type "nats" {
  params = ["version", "port"]

  start "shell" {
    cmd = <<-EOT
      NAME="pikoci-$BUILD_PIPELINE_NAME-$BUILD_JOB_NAME-nats"
      version="$${param_version:-2}"
      port="$${param_port:-4222}"
      # the Alpine variant: its wget answers the ready check (the plain image has no shell)
      case "$version" in latest) tag=alpine ;; *) tag="$version-alpine" ;; esac
      docker rm -f "$NAME" > /dev/null 2>&1 || true
      docker run -d --name "$NAME" \
        -p "127.0.0.1:$${port}:4222" \
        "nats:$tag" --jetstream --http_port 8222
    EOT
  }

  ready_check "shell" {
    cmd      = <<-EOT
      NAME="pikoci-$BUILD_PIPELINE_NAME-$BUILD_JOB_NAME-nats"
      docker exec "$NAME" wget -q -O - http://127.0.0.1:8222/healthz
    EOT
    interval = "1s"
    timeout  = "30s"
  }

  stop "shell" {
    cmd = <<-EOT
      docker rm -f "pikoci-$BUILD_PIPELINE_NAME-$BUILD_JOB_NAME-nats" > /dev/null
    EOT
  }
}

# Redis (image redis:<version>) on 127.0.0.1:<port>; with `password`, clients must AUTH.
# Docker-based: `docker run -d` of a container named pikoci-<pipeline>-<job>-redis, published
# on 127.0.0.1 only. A leftover of a crashed build of the same job is removed first.
# Params (all optional): version (default "7"), port (default "6379"), password (default none).
service_type "redis" {
  params = ["version", "port", "password"]

  start "shell" {
    cmd = <<-EOT
      NAME="pikoci-$BUILD_PIPELINE_NAME-$BUILD_JOB_NAME-redis"
      version="$${param_version:-7}"
      port="$${param_port:-6379}"
      password="$${param_password-}"
      docker rm -f "$NAME" > /dev/null 2>&1 || true
      docker run -d --name "$NAME" \
        -p "127.0.0.1:$${port}:6379" \
        "redis:$${version}" $${password:+--requirepass "$password"}
    EOT
  }

  ready_check "shell" {
    cmd      = <<-EOT
      NAME="pikoci-$BUILD_PIPELINE_NAME-$BUILD_JOB_NAME-redis"
      password="$${param_password-}"
      docker exec "$NAME" redis-cli $${password:+-a "$password" --no-auth-warning} ping \
        | grep -q PONG
    EOT
    interval = "1s"
    timeout  = "30s"
  }

  stop "shell" {
    cmd = <<-EOT
      docker rm -f "pikoci-$BUILD_PIPELINE_NAME-$BUILD_JOB_NAME-redis" > /dev/null
    EOT
  }
}

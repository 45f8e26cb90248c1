# PostgreSQL (image postgres:<version>). Connect as user postgres with `password` to the
# database `database` on 127.0.0.1:<port>.
# Docker-based: `docker run -d` of a container named pikoci-<pipeline>-<job>-postgresql, published
# on 127.0.0.1 only. A leftover of a crashed build of the same job is removed first.
# Params (all optional): version (default "16"), port (default "5432"), password (default
#  "postgres"), database (default "postgres").
service_type "postgresql" {
  params = ["version", "port", "password", "database"]

  start "shell" {
    cmd = <<-EOT
      NAME="pikoci-$BUILD_PIPELINE_NAME-$BUILD_JOB_NAME-postgresql"
      version="$${param_version:-16}"
      port="$${param_port:-5432}"
      password="$${param_password:-postgres}"
      database="$${param_database:-postgres}"
      docker rm -f "$NAME" > /dev/null 2>&1 || true
      docker run -d --name "$NAME" \
        -p "127.0.0.1:$${port}:5432" \
        -e POSTGRES_PASSWORD="$${password}" -e POSTGRES_DB="$${database}" \
        "postgres:$${version}"
    EOT
  }

  ready_check "shell" {
    cmd      = <<-EOT
      NAME="pikoci-$BUILD_PIPELINE_NAME-$BUILD_JOB_NAME-postgresql"
      database="$${param_database:-postgres}"
      docker exec "$NAME" pg_isready -h 127.0.0.1 -U postgres -d "$${database}"
    EOT
    interval = "1s"
    timeout  = "60s"
  }

  stop "shell" {
    cmd = <<-EOT
      docker rm -f "pikoci-$BUILD_PIPELINE_NAME-$BUILD_JOB_NAME-postgresql" > /dev/null
    EOT
  }
}

# MariaDB (image mariadb:<version>). Connect as root with `root_password` on 127.0.0.1:<port>;
# `database` is created empty.
# Docker-based: `docker run -d` of a container named pikoci-<pipeline>-<job>-mariadb, published
# on 127.0.0.1 only. A leftover of a crashed build of the same job is removed first.
# Params (all optional): version (default "11"), port (default "3306"), root_password (default
#  "mariadb"), database (default "test").
service_type "mariadb" {
  params = ["version", "port", "root_password", "database"]

  start "shell" {
    cmd = <<-EOT
      NAME="pikoci-$BUILD_PIPELINE_NAME-$BUILD_JOB_NAME-mariadb"
      version="$${param_version:-11}"
      port="$${param_port:-3306}"
      root_password="$${param_root_password:-mariadb}"
      database="$${param_database:-test}"
      docker rm -f "$NAME" > /dev/null 2>&1 || true
      docker run -d --name "$NAME" \
        -p "127.0.0.1:$${port}:3306" \
        -e MARIADB_ROOT_PASSWORD="$${root_password}" -e MARIADB_DATABASE="$${database}" \
        "mariadb:$${version}"
    EOT
  }

  ready_check "shell" {
    cmd      = <<-EOT
      NAME="pikoci-$BUILD_PIPELINE_NAME-$BUILD_JOB_NAME-mariadb"
      root_password="$${param_root_password:-mariadb}"
      docker exec "$NAME" mariadb-admin ping -h 127.0.0.1 -u root --password="$${root_password}"
    EOT
    interval = "1s"
    timeout  = "90s"
  }

  stop "shell" {
    cmd = <<-EOT
      docker rm -f "pikoci-$BUILD_PIPELINE_NAME-$BUILD_JOB_NAME-mariadb" > /dev/null
    EOT
  }
}

# Services run beside a job's tasks: started in plan order, ready-checked concurrently, and
# stopped whatever happens (seed 002, SPEC §7, reference §1.7).
#
# `postgres` runs a throwaway PostgreSQL from Debian's packages in the build's work directory on
# the port given by `var.pg_port` (as root it runs the server as the `postgres` user, which
# initdb requires). `postgres-docker` shows the orphan-prevention pattern for containers: a name
# that is stable per pipeline and job, and a cleanup at the top of `start`, so a container left
# behind by a crashed worker never blocks the next build.

variable "pg_port" {
  type    = string
  default = "54329"
}

service_type "postgres" {
  params = ["port"]

  start "shell" {
    cmd = <<-EOT
      BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
      mkdir -p "$WORKDIR/pg"
      AS=""
      if [ "$(id -u)" = 0 ]; then chown postgres "$WORKDIR/pg"; AS="runuser -u postgres --"; fi
      $AS "$BIN/initdb" -D "$WORKDIR/pg/data" -A trust -U test > /dev/null
      $AS "$BIN/pg_ctl" -D "$WORKDIR/pg/data" -l "$WORKDIR/pg/log" \
        -o "-p $param_port -k $WORKDIR/pg -c listen_addresses=127.0.0.1" start
    EOT
  }

  ready_check "shell" {
    cmd      = "pg_isready -h 127.0.0.1 -p \"$param_port\""
    interval = "500ms"
    timeout  = "30s"
  }

  stop "shell" {
    cmd = <<-EOT
      BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
      AS=""
      if [ "$(id -u)" = 0 ]; then AS="runuser -u postgres --"; fi
      $AS "$BIN/pg_ctl" -D "$WORKDIR/pg/data" stop -m fast
    EOT
  }
}

service_type "postgres-docker" {
  params = ["version"]

  start "shell" {
    cmd = <<-EOT
      NAME="pikoci-$BUILD_PIPELINE_NAME-$BUILD_JOB_NAME-pg"
      docker rm -f "$NAME" 2>/dev/null || true   # an orphan of a crashed build, if any
      docker run -d --name "$NAME" -p 5432:5432 -e POSTGRES_PASSWORD=test "postgres:$param_version"
    EOT
  }

  ready_check "shell" {
    cmd      = "docker exec \"pikoci-$BUILD_PIPELINE_NAME-$BUILD_JOB_NAME-pg\" pg_isready"
    interval = "2s"
    timeout  = "60s"
  }

  stop "shell" {
    cmd = "docker rm -f \"pikoci-$BUILD_PIPELINE_NAME-$BUILD_JOB_NAME-pg\" 2>/dev/null || true"
  }
}

job "integration" {
  service "postgres" {
    port = var.pg_port
  }

  task "query" {
    run "shell" {
      cmd = "psql -h 127.0.0.1 -p ${var.pg_port} -U test -d postgres -Atc 'select 40 + 2'"
    }
  }
}

# Needs Docker on the worker; trigger it by hand.
job "integration-docker" {
  service "postgres-docker" {
    version = "16"
  }

  task "query" {
    run "shell" {
      cmd = "docker exec \"pikoci-$BUILD_PIPELINE_NAME-$BUILD_JOB_NAME-pg\" psql -U postgres -Atc 'select 1'"
    }
  }
}

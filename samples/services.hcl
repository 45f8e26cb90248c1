# Services run beside a job's tasks: started in plan order, ready-checked concurrently, and
# stopped whatever happens (reference §1.7, SPEC §7). This one runs a throwaway PostgreSQL in the
# build's work directory on a port given as a parameter.

service_type "postgres" {
  params = ["port"]

  start "shell" {
    cmd = <<-EOT
      initdb -D "$WORKDIR/pgdata" -U postgres > "$WORKDIR/initdb.log"
      pg_ctl -D "$WORKDIR/pgdata" -l "$WORKDIR/pg.log" -o "-p $param_port -k $WORKDIR" start
    EOT
  }

  ready_check "shell" {
    cmd      = "pg_isready -h \"$WORKDIR\" -p \"$param_port\""
    interval = "1s"
    timeout  = "30s"
  }

  stop "shell" {
    cmd = "pg_ctl -D \"$WORKDIR/pgdata\" stop -m fast"
  }
}

job "integration" {
  service "postgres" {
    port = "54329"
  }

  task "query" {
    run "shell" {
      cmd = "psql -h \"$WORKDIR\" -p 54329 -U postgres -c 'select 1'"
    }
  }
}

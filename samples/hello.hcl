# The smallest useful pipeline: a cron resource checked every minute triggers a job that says
# hello. `make run` starts the server with this file.

resource "cron" "every-minute" {
  check_interval = "@every 1m"
}

job "hello" {
  get "cron" "every-minute" {
    trigger = true
  }

  task "say-hello" {
    run "shell" {
      # $GET_EVERY_MINUTE_DATE is exported by the get step above (the cron version's "date").
      cmd = "echo \"hello from pikoci-node, triggered at $GET_EVERY_MINUTE_DATE\""
    }
  }
}

# Fan-in: two jobs test the same version in parallel; `deploy` runs only on a version that
# passed both of them (`passed` chains, reference §5.3).

variable "environment" {
  type    = string
  default = "staging"
}

resource "cron" "source" {
  check_interval = "@every 30s"
}

job "unit" {
  get "cron" "source" {
    trigger = true
  }
  task "test" {
    run "shell" {
      cmd = "echo unit tests for $GET_SOURCE_DATE"
    }
  }
}

job "lint" {
  get "cron" "source" {
    trigger = true
  }
  task "lint" {
    run "exec" {
      path = "echo"
      args = ["linting", "$GET_SOURCE_DATE"]
    }
  }
}

job "deploy" {
  get "cron" "source" {
    trigger = true
    passed  = ["unit", "lint"]
  }
  task "ship" {
    run "shell" {
      cmd = "echo deploying $GET_SOURCE_DATE to ${var.environment}"
    }
  }
  on_failure "shell" {
    cmd = "echo deploy to ${var.environment} failed"
  }
}

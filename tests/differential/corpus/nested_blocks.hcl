job "build" {
  task "compile" {
    run "exec" {
      path = "make"
      args = ["all", "-j2"]
    }
  }
  in_parallel {
    limit = 2
    get "git" "repo" { trigger = true }
    get "git" "other" { passed = ["build"] }
  }
  on_failure {
    notify "slack" "ops" {
      message = "failed ${var.name}"
    }
  }
}
job "deploy" {
  deep {
    deeper {
      deepest { x = [1, { y = 2 }] }
    }
  }
}

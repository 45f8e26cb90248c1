# The command as given: `path` (looked up in PATH) with the step's `args`, no shell.
runner_type "exec" {
  run {
    path = "$path"
    args = ["$args"]
  }
}

# `cmd` (or a script `file`) run by `shell`, /bin/sh by default, which stops at the first error.
runner_type "shell" {
  run {
    path = "$shell"
    args = ["-ec", "$cmd"]
  }
}

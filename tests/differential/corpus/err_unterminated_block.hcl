job "x" {
  a = 1
  task "t" {
  }

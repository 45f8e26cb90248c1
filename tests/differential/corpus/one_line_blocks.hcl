get "cron" "timer" { trigger = true }
service "postgres" {}
empty {
}
a { b = 1 }

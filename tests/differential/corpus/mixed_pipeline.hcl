variable "version" {
  type    = string
  default = "1.2.3"
}

resource_type "http" {
  source = "pikoci://http"
  params = ["url", "method"]
}

resource "git" "repo" {
  params {
    url    = "https://example.com/${var.name}.git"
    branch = var.env == "prod" ? "main" : "develop"
  }
  check_interval = "@every 1m"
  tags           = var.tags
}

job "test" {
  for_each = toset(["1.21", "1.22"])
  concurrency = 2
  get "git" "repo" { trigger = true }
  task "unit" {
    run "shell" {
      cmd = <<-EOT
        set -e
        echo "$${BUILD_ID}" $HOME
        go test ./... -count=${var.count}
      EOT
    }
  }
}

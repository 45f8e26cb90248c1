a = <<EOT
hello
  EOT

job "x" {
  script = <<-EOT
    line one
      indented more
    line three
    EOT
  other = <<-EOT
      six
    four
  EOT
  blank_lines = <<-EOT

    after blank

    EOT
}

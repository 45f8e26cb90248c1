a = <<EOT
hello
  world
EOT
b = <<EOT
EOT
c = <<END_OF_TEXT
with ${var.name} and %{ if true }yes%{ endif }
backslash \n stays
END_OF_TEXT
d = "after"

a = <<EOT
  EOT not alone
EOT
b = <<-EOT
    trailing spaces kept   
    EOT
c = <<EOT
${var.name}
EOT
d = <<-EOT
EOT
e = <<EOT
line with $${escaped} and %%{escaped}
EOT

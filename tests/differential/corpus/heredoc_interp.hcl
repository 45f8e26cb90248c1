x = <<-EOT
  name: ${var.name}
  %{ for t in var.tags ~}
  - ${t}
  %{ endfor ~}
  done
  EOT
y = <<EOT
$${literal} %%{literal}
${upper("x")}
EOT
z = <<-EOT
	tab indented
	  more
	EOT

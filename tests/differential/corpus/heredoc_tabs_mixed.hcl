a = <<-EOT
		x
	  y
	EOT
b = <<-EOT
   one
 two
    three
  EOT

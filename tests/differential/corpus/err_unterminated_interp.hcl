a = "x ${var.name"

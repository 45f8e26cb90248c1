a = "x ${var.tags} y"

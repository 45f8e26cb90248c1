a = var.nothing.x

a = var.nothing[0]

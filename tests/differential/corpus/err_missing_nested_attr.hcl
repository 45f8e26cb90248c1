a = var.config.nope

a = var.numbers[-1]

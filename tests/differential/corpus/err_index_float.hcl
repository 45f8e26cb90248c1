a = var.numbers[1.5]

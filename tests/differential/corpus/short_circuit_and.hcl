a = 1
b = false && var.missing

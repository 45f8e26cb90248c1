x = 1
a = var.tags[10]

x = 1
a = { var.name = 1 }

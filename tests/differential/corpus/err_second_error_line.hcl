a = 1
b = 2
c = var.missing
d = nope()

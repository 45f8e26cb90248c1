a = var.count + var.big
b = var.negative % 3
c = var.count > var.zero
d = "${var.greeting}, ${var.name}!"
e = var.csv == "a,b,c"
f = split(",", var.csv)[1]
g = var.config.retries * 10
h = var.padded

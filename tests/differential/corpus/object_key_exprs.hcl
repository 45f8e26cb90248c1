b = { (var.env) = "x", static = "y" }
c = { "${var.name}-${var.env}" = true }
d = { true = 1, null = 2, false = 3 }

a = true && true
b = true && false
c = false || true
d = false || false
e = !var.enabled
f = var.enabled && !var.disabled
g = "true" && true
h = (var.count > 1) || (var.count < 0)

a = [for v in var.labels : v]
b = "%{for v in var.labels}${v} %{endfor}"
c = [for k, v in var.ports : k]
d = { for i, v in ["x", "y"] : v => i }
e = [for x in toset(["b", "a"]) : x]
f = { for k, v in tomap({ b = 1, a = 2 }) : k => v * 2 }
g = [for i, x in [10, 20] : i + x]
h = [for x in var.servers : x if x.port > 6000]

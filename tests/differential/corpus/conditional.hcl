a = true ? "yes" : "no"
b = false ? 1 : 2
c = var.enabled ? var.name : "none"
d = true ? 1 : "a"
e = false ? 1 : "a"
f = var.count > 2 ? "many" : var.count > 0 ? "some" : "none"
g = true ? [1, 2] : []
h = false ? null : "x"
i = true ? null : "x"
j = "true" ? 1 : 2
k = true ? { a = 1 } : { a = 2, b = 3 }
l = true ? ["a"] : ["b", "c"]

a = true ? [1] : ["a"]
b = true ? { a = 1 } : { a = "x" }
d = true ? 1 : null
e = var.enabled ? var.tags : []
f = true ? var.labels : {}

a = true ? null : 1
b = false ? null : 1
c = [1] == ["1"]
d = tolist(["a"]) == tolist(["a"])
e = true ? tolist(["a"]) : ["b"]
f = false ? { a = 1 } : tomap({ a = 2 })

a = { for x in ["a", "b"] : x => upper(x) }
b = { for k, v in var.labels : v => k }
c = { for i, x in var.tags : x => i if i < 2 }
d = { for s in var.servers : s.name => s.port }
e = { for x in ["a", "b", "a", "c"] : x => x... }
f = { for s in [{k = "x", v = 1}, {k = "y", v = 2}, {k = "x", v = 3}] : s.k => s.v... }
g = { for k, v in var.ports : k => v + 1 }
h = { for x in [] : x => x }

a = var.servers[*].tags[*]
b = [[1, 2], [3]][*][0]
c = var.servers.*.name[1]
d = var.nothing.*.x
e = { a = 1 }[*].a
f = tolist(["a", "b"])[*]
g = toset(["a"])[*]

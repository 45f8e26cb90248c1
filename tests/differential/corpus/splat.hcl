a = var.servers[*].name
b = var.servers.*.port
c = var.servers[*].tags
d = var.tags[*]
e = var.config[*].region
f = var.nothing[*]
g = [{ a = { b = 1 } }, { a = { b = 2 } }][*].a.b
h = [{ t = [1] }, { t = [2, 3] }].*.t.0
i = length(var.servers[*])
j = var.name[*]
k = [][*].x

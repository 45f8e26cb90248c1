a = (var.servers)[0].name
b = ({ a = [1, 2] }).a[1]
c = (var.tags)[*]
d = upper("x") == "X"
e = split(",", "a,b")[0]
f = var.servers[0]["name"]

a = [for s in var.servers : { name = upper(s.name), ports = [for p in [s.port, s.port + 1] : p] } if length(s.tags) > 0]
b = { for s in var.servers : s.name => [for t in s.tags : "${s.name}-${t}"] }
c = [for x in range(10) : x if x % 2 == 0 && x > 2]
d = [for k, v in { b = 1, a = 2, c = 3 } : "${k}${v}"]

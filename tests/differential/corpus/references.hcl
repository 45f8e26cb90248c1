a = var.name
b = var.config.region
c = var.config.limits.cpu
d = var.tags[0]
e = var.servers[1].name
f = var.labels["team"]
g = var.servers[0].tags[1]
h = var.config["limits"]["memory"]
i = var.nested_list[0][1]
j = var.tags[var.zero]
k = var.labels[var.empty == "" ? "tier" : "team"]

a = var.tags.0
b = var.servers.1.name
c = var.nested_list.0[1]
d = [10, 20, 30].2

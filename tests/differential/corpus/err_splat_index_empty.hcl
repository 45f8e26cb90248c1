a = var.servers[*].tags[0]

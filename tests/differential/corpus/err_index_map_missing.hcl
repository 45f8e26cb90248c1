a = var.labels["nope"]

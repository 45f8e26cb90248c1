a = var.tags.name

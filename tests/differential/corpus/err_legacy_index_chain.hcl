a = 1
c = var.nested_list.0.1

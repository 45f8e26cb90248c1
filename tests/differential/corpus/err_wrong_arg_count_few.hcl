a = 1
b = join(",")

a = 1
b = true || [1][5]

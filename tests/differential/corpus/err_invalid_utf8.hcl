a = "café"
b = 1

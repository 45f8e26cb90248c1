a = 1
b = foo.bar

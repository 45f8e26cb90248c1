a = 1
b = nosuchfn(1)

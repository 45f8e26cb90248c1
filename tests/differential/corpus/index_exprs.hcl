a = [1, 2, 3][1]
b = { a = "x" }["a"]
c = var.tags[length(var.tags) - 1]
d = [[1, 2], [3, 4]][1][0]
e = "abc" == "abc" ? [1][0] : 0
f = var.labels[join("", ["te", "am"])]
g = var.tags["1"]
h = { "0" = "z" }[0]
i = var.numbers[1.0]

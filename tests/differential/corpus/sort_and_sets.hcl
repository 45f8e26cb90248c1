a = sort(["b", "a", "c", "A", "10", "9"])
b = toset([3, 1, 2])
c = distinct(["b", "a", "b"])
d = [for x in toset(["b", "c", "a"]) : x]
e = setunion([3, 1], [2])

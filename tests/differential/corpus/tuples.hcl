empty = []
one = [1]
trailing = [1, 2, 3,]
multiline = [
  "a",
  "b"
]
multiline_trailing = [
  "a",
  "b",
]
nested = [[1, [2, [3]]], []]
mixed = [1, "two", true, null, { a = 1 }]

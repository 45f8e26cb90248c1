a = (
  1 +
  2
)
b = [
  for x in [1, 2] :
  x
]
c = true ? (
  "y"
) : "n"
d = upper(
  "x"
)
e = {
  for k, v in { a = 1 } :
  k => v
}
f = join(",", [
  "a",
  "b",
])

empty = {}
eq = { a = 1, b = 2 }
colon = { a: 1, b: 2 }
newline = {
  a = 1
  b = "two"
}
trailing = { a = 1, b = 2, }
quoted = { "with space" = 1, "dash-key" = 2, "" = 3 }
computed = { (var.name) = 1, ("k${1+1}") = 2 }
num_key = { 1 = "one" }
nested = { a = { b = { c = [1, 2] } } }
mixed_sep = {
  a = 1,
  b: 2
  "c" = 3,
}

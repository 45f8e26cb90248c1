a = 1
blk "one" {
  a = 2
}
b = 3
blk "two" {
  a = 4
  sub {}
  c = 5
}

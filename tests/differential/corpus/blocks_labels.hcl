none {}
one "a" {}
two "a" "b" {}
three "a" "b" "c" {
  x = 1
}
bare a {}
mixed a "b" c {}
empty_label "" {}
unicode_label "héllo wörld" {}

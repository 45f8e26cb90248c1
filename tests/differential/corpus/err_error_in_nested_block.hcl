outer {
  inner "x" {
    v = [1][3]
  }
}

job "x"
  a = 1
}

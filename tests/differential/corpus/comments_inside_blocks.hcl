job "x" { # after brace
  // inside
  a = "v" /* after value */
  /* multi
     line */ b = 2
}
#last
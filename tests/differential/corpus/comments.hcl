# hash comment
// slash comment
/* block
   comment */
a = 1 # trailing hash
b = 2 // trailing slashes
c = /* inline */ 3
d = [1, /* in a tuple */ 2, # hash in tuple
  3]
/* comment at end without newline */
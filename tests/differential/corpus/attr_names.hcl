a-b = 1
a_b = 2
_x = 3
x1-2_3 = 4
Éclair = "unicode ident"

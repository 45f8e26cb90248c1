a = 1 + 2 > 2 && 3 < 4 || false
b = !false && false
c = !(true && false)
d = 1 < 2 == true
e = 2 * 3 + 4 * 5 == 26
f = true || false && false
g = 1 + 2 * 3 == 7 ? "yes" : "no"
h = 5 - 3 - 1
i = 8 / 4 / 2
j = 2 - -2

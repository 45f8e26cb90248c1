true = 1
null = 2
for = 3
if = 4
in = 5
false = 6

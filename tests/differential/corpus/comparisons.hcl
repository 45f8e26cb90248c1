a = 1 == 1
b = 1 == "1"
c = "a" == "a"
d = [1, 2] == [1, 2]
e = { a = 1 } == { a = 1 }
f = 1 != 2
g = 1 < 2
h = 2 <= 2
i = 3 > 4
j = 4 >= 4
k = null == false
l = true == "true"
m = var.tags == ["linux", "amd64", "fast"]
n = 1.0 == 1
o = "1" < 2
p = [] == []
q = {} == []

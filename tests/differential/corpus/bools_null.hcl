t = true
f = false
n = null
list = [true, false, null]
not_t = !true
not_not = !!false
eq_null = null == null
ne_null = 1 != null

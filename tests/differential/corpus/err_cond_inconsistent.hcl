a = 1
m = false ? 1.5 : true

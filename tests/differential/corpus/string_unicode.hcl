s = "日本語 ünïcödé émoji 😀"
len = strlen("日本語")
up = upper("straße")
rev = strrev("abc😀")
sub = substr("héllo", 1, 3)

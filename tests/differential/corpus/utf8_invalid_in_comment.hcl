# ÿş bad
a = 1

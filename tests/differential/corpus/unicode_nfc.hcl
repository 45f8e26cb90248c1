a = "e\u0301"
b = "café"
c = "Å"
d = strlen("é")

a = toset(["a", "b"])[0]

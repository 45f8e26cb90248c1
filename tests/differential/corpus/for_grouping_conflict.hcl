a = { for x in ["one", "two", "three"] : strlen(x) => x... }
b = { for x in ["aa", "b", "cc"] : strlen(x) => x... }

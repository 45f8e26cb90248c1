c = false ? true : 1

a = true * 2

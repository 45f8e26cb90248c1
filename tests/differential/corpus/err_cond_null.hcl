a = null ? 2 : 3

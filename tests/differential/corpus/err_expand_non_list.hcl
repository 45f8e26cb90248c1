a = max(1...)

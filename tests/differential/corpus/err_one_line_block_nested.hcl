deep { deeper { x = 1 } }

a = "bad \u12 escape"

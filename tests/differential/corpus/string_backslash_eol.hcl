a = "ends with backslash \\"
b = "\\\\"

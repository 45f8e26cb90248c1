a = [{ t = [1] }, { t = [2, 3] }][*].t[0]
b = [[1, 2], [3, 4]][*][1]
c = var.config[*].limits.cpu

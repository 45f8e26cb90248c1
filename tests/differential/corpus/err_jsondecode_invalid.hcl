a = jsondecode("{bad")

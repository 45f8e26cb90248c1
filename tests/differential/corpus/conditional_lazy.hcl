a = true ? 1 : var.missing
b = false ? var.missing : 2
c = var.enabled || nosuchfn()
d = var.disabled && [][0]

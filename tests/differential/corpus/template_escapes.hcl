a = "$${HOME} and %%{if}"
b = "$$${var.name}"
c = "$ {x} and % {y}"
d = "$name stays $name"
e = "100%"
f = "$"
g = "%"
h = "$$"
i = "trailing $"
j = <<EOT
$${version_hash:-} $$ %% ${"x"}
EOT

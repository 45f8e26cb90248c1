num = "${var.count}"
bool = "${var.enabled}"
list = "${var.tags}"
obj = "${var.labels}"
nul = "${var.nothing}"
expr = "${1 + 1}"
spaced = "${ var.count }"
not_lone = " ${var.count}"
heredoc_lone = <<EOT
${var.count}
EOT

a = "x${<<EOT
inner
EOT
}y"

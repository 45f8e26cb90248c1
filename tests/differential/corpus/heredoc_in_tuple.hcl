items = [
  <<EOT
first
EOT
  ,
  <<-EOT
    second
    EOT
  ,
]
call = join("|", [<<EOT
a
EOT
, "b"])

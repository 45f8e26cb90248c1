a = "x ${~ "y" ~} z"
b = "a   %{~ if true ~}   b   %{~ endif ~}   c"
c = <<EOT
list:
%{ for t in var.tags ~}
  * ${t}
%{ endfor ~}
end
EOT
d = <<-EOT
  %{~ if true ~}
  kept
  %{~ endif ~}
  EOT
e = "a ${~"b"} c"
f = "a ${"b"~} c"

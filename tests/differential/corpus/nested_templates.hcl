a = "%{for s in var.servers}%{for t in s.tags}${s.name}/${t} %{endfor}%{endfor}"
b = "%{if length(var.tags) > 0}${join(",", var.tags)}%{else}none%{endif}"
c = "${"%{if true}inner%{endif}"}"

a = "%{if true}yes"

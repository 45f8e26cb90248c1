# Scripts of git come with their runtime; the names and params are known now.
resource_type "git" {
  params = ["url", "branch", "name", "token", "pr", "tag", "provider"]
  cache  = true
}

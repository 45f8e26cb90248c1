# A git repository (`url`): a new version {"ref": SHA} for each new tip of `branch` (HEAD when
# unset), or with `pr = true` / `tag = true` for each new pull request head / tag. The node's
# own handlers do the work (`pikoci-node builtin git.*`); a mirror of the repository is kept in
# $CACHE_DIR on each worker.
resource_type "git" {
  params = ["url", "branch", "name", "token", "pr", "tag", "provider"]
  cache  = true
  check "pikoci-node" {
    handler = "git.check"
  }
  pull "pikoci-node" {
    handler = "git.pull"
  }
  push "pikoci-node" {
    handler = "git.push"
  }
}

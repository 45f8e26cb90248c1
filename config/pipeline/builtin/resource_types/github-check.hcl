# A GitHub check run on a commit, reported by a GitHub App. `put` with status = "in_progress"
# creates it (on head_sha, else the commit of the git checkout in the work directory); a later
# put with a conclusion in the same build completes it. `api_url` points at GitHub Enterprise (or
# a test server); `base_url` makes the check's "Details" link point at the build.
resource_type "github-check" {
  params = ["app_id", "installation_id", "private_key", "repository", "base_url", "api_url"]
  push "pikoci-node" {
    handler = "github-check.put"
  }
}

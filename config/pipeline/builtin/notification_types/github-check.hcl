# A GitHub check run on a commit, reported by a GitHub App: a notify step with
# status = "in_progress" creates it, one with a conclusion (or an automatic notification, from
# the build's status) completes it. Same params as the github-check resource type.
notification_type "github-check" {
  params = ["app_id", "installation_id", "private_key", "repository", "base_url", "api_url"]
  notify "pikoci-node" {
    handler = "github-check.notify"
  }
}

# Delivered by the node itself (its notification outbox).
notification_type "slack" {
  params = ["webhook_url", "base_url"]
}

# Delivered by the node itself (its notification outbox).
notification_type "discord" {
  params = ["webhook_url", "base_url"]
}

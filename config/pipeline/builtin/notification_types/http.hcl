# Delivered by the node itself (its notification outbox).
notification_type "http" {
  params = ["url", "base_url"]
}

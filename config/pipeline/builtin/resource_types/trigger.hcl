# Handled inside the worker: puts store team-scoped events, checks turn them into versions.
resource_type "trigger" {}

resource_type "artifact" {
  params = ["dir", "base_dir"]
  cache  = true
}

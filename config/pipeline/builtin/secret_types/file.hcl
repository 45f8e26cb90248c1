# A local file on the worker: json, yaml (flat maps), env or raw (`format`, or the extension).
secret_type "file" {
  params = ["path", "format"]
  get "pikoci-node" {
    handler = "file.get"
  }
}

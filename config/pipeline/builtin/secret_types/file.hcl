# Read and parsed (json, yaml, env, raw) by the worker itself.
secret_type "file" {
  params = ["path", "format"]
}

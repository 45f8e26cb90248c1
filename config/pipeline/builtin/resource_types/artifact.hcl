# Directories a build puts, kept by the node (or in `base_dir` on the worker), versioned by the
# SHA-256 of their archive; a get extracts one into `dir` of the work directory.
resource_type "artifact" {
  params = ["dir", "base_dir"]
  cache  = true
  check "pikoci-node" {
    handler = "artifact.check"
  }
  pull "pikoci-node" {
    handler = "artifact.pull"
  }
  push "pikoci-node" {
    handler = "artifact.push"
  }
}

# A file or a directory tree on the worker (`path`): a new version whenever its content changes;
# a get copies it into the build's work directory.
resource_type "fs" {
  params = ["path"]
  check "pikoci-node" {
    handler = "fs.check"
  }
  pull "pikoci-node" {
    handler = "fs.pull"
  }
}

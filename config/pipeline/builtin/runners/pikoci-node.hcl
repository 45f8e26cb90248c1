# One of the node's own handlers (`pikoci-node builtin HANDLER`), run by the worker's own binary:
# the built-in types that need more than a shell script use it.
runner_type "pikoci-node" {
  run {
    path = "$PIKOCI_NODE_BIN"
    args = ["builtin", "$handler"]
  }
}

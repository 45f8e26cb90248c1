# Events between pipelines: a put records one (its attributes plus where it came from) and the
# node hands it to every pipeline declaring a trigger resource of the same name. Nothing to check
# or fetch: versions arrive only by puts.
resource_type "trigger" {
  push "pikoci-node" {
    handler = "trigger.push"
  }
}

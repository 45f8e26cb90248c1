# The node's own secret store.
secret_type "pikoci" {}

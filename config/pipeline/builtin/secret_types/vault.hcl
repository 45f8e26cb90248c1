# HashiCorp Vault's KV v2 read API over HTTP (no vault or jq binary needed on the worker).
secret_type "vault" {
  params = ["address", "token", "path"]
  get "pikoci-node" {
    handler = "vault.get"
  }
}

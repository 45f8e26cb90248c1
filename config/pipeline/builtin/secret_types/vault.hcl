secret_type "vault" {
  params = ["address", "token", "path"]
  get "exec" {
    path = "/bin/sh"
    args = [
      "-ec",
      <<-EOT
      VAULT_ADDR="$param_address" VAULT_TOKEN="$param_token" \
        vault kv get -format=json "$param_path" | jq -c '.data.data // .data'
      EOT
    ]
  }
}

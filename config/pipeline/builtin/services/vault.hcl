# HashiCorp Vault in dev mode (image hashicorp/vault:<version>): unsealed, in memory, root
# token `root_token`, on http://127.0.0.1:<port>.
# Docker-based: `docker run -d` of a container named pikoci-<pipeline>-<job>-vault, published
# on 127.0.0.1 only. A leftover of a crashed build of the same job is removed first.
# Params (all optional): version (default "1.15"), port (default "8200"), root_token (default
#  "root").
service_type "vault" {
  params = ["version", "port", "root_token"]

  start "shell" {
    cmd = <<-EOT
      NAME="pikoci-$BUILD_PIPELINE_NAME-$BUILD_JOB_NAME-vault"
      version="$${param_version:-1.15}"
      port="$${param_port:-8200}"
      root_token="$${param_root_token:-root}"
      docker rm -f "$NAME" > /dev/null 2>&1 || true
      docker run -d --name "$NAME" \
        -p "127.0.0.1:$${port}:8200" --cap-add IPC_LOCK \
        -e VAULT_DEV_ROOT_TOKEN_ID="$${root_token}" -e VAULT_DEV_LISTEN_ADDRESS=0.0.0.0:8200 \
        "hashicorp/vault:$${version}"
    EOT
  }

  ready_check "shell" {
    cmd      = <<-EOT
      NAME="pikoci-$BUILD_PIPELINE_NAME-$BUILD_JOB_NAME-vault"
      docker exec "$NAME" env VAULT_ADDR=http://127.0.0.1:8200 vault status
    EOT
    interval = "1s"
    timeout  = "30s"
  }

  stop "shell" {
    cmd = <<-EOT
      docker rm -f "pikoci-$BUILD_PIPELINE_NAME-$BUILD_JOB_NAME-vault" > /dev/null
    EOT
  }
}

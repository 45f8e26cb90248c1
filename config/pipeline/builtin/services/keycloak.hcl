# Keycloak in dev mode (image quay.io/keycloak/keycloak:<version>) on http://127.0.0.1:<port>,
# admin `admin_user`/`admin_password`.
# Docker-based: `docker run -d` of a container named pikoci-<pipeline>-<job>-keycloak, published
# on 127.0.0.1 only. A leftover of a crashed build of the same job is removed first.
# Params (all optional): version (default "24.0"), port (default "8080"), admin_user (default
#  "admin"), admin_password (default "admin").
service_type "keycloak" {
  params = ["version", "port", "admin_user", "admin_password"]

  start "shell" {
    cmd = <<-EOT
      NAME="pikoci-$BUILD_PIPELINE_NAME-$BUILD_JOB_NAME-keycloak"
      version="$${param_version:-24.0}"
      port="$${param_port:-8080}"
      admin_user="$${param_admin_user:-admin}"
      admin_password="$${param_admin_password:-admin}"
      docker rm -f "$NAME" > /dev/null 2>&1 || true
      docker run -d --name "$NAME" \
        -p "127.0.0.1:$${port}:8080" \
        -e KEYCLOAK_ADMIN="$admin_user" -e KEYCLOAK_ADMIN_PASSWORD="$admin_password" \
        -e KC_BOOTSTRAP_ADMIN_USERNAME="$admin_user" \
        -e KC_BOOTSTRAP_ADMIN_PASSWORD="$admin_password" \
        "quay.io/keycloak/keycloak:$${version}" start-dev
    EOT
  }

  ready_check "shell" {
    cmd      = <<-EOT
      NAME="pikoci-$BUILD_PIPELINE_NAME-$BUILD_JOB_NAME-keycloak"
      admin_user="$${param_admin_user:-admin}"
      admin_password="$${param_admin_password:-admin}"
      # a real admin login: the port opens before the master realm can be used
      docker exec "$NAME" /opt/keycloak/bin/kcadm.sh config credentials \
        --config /tmp/kcadm.config --server http://127.0.0.1:8080 --realm master \
        --user "$admin_user" --password "$admin_password"
    EOT
    interval = "3s"
    timeout  = "180s"
  }

  stop "shell" {
    cmd = <<-EOT
      docker rm -f "pikoci-$BUILD_PIPELINE_NAME-$BUILD_JOB_NAME-keycloak" > /dev/null
    EOT
  }
}

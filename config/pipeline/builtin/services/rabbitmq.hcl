# RabbitMQ (image rabbitmq:<version>) on 127.0.0.1:<port> (AMQP), user `user`/`password`.
# Docker-based: `docker run -d` of a container named pikoci-<pipeline>-<job>-rabbitmq, published
# on 127.0.0.1 only. A leftover of a crashed build of the same job is removed first.
# Params (all optional): version (default "3"), port (default "5672"), user (default "guest"),
#  password (default "guest").
service_type "rabbitmq" {
  params = ["version", "port", "user", "password"]

  start "shell" {
    cmd = <<-EOT
      NAME="pikoci-$BUILD_PIPELINE_NAME-$BUILD_JOB_NAME-rabbitmq"
      version="$${param_version:-3}"
      port="$${param_port:-5672}"
      user="$${param_user:-guest}"
      password="$${param_password:-guest}"
      docker rm -f "$NAME" > /dev/null 2>&1 || true
      docker run -d --name "$NAME" \
        -p "127.0.0.1:$${port}:5672" \
        -e RABBITMQ_DEFAULT_USER="$${user}" -e RABBITMQ_DEFAULT_PASS="$${password}" \
        "rabbitmq:$${version}"
    EOT
  }

  ready_check "shell" {
    cmd      = <<-EOT
      NAME="pikoci-$BUILD_PIPELINE_NAME-$BUILD_JOB_NAME-rabbitmq"
      docker exec "$NAME" rabbitmq-diagnostics -q check_port_connectivity
    EOT
    interval = "2s"
    timeout  = "120s"
  }

  stop "shell" {
    cmd = <<-EOT
      docker rm -f "pikoci-$BUILD_PIPELINE_NAME-$BUILD_JOB_NAME-rabbitmq" > /dev/null
    EOT
  }
}

#!/usr/bin/env bash
# ValidateService, as the recipe does it: curl the idle port up to 10 times 10 s apart accepting any answer,
# then rewrite the include with tee and reload nginx.
source "$(dirname "$0")/common.sh"
IDLE_PORT=$(idle_port)
for RETRY in $(seq 1 10); do
  CODE=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$IDLE_PORT/actuator/health")
  if [ "$CODE" != "000" ]; then
    echo "> health check answered $CODE on try $RETRY"
    break
  fi
  if [ "$RETRY" -eq 10 ]; then
    echo "> health check failed"
    exit 1
  fi
  sleep 10
done
echo "set \$service_url http://127.0.0.1:$IDLE_PORT;" | tee "$INCLUDE"
nginx $NGINX_ARGS -s reload
echo "> switched to $IDLE_PORT"
exit 0

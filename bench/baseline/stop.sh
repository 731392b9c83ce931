#!/usr/bin/env bash
# ApplicationStop, as the recipe does it: kill -15 whatever listens on the idle port, then sleep a fixed 5 s.
source "$(dirname "$0")/common.sh"
IDLE_PORT=$(idle_port)
IDLE_PID=$(lsof -ti tcp:"$IDLE_PORT" -sTCP:LISTEN)
if [ -n "$IDLE_PID" ]; then
  echo "> kill -15 $IDLE_PID (port $IDLE_PORT)"
  kill -15 $IDLE_PID
  sleep 5
fi
exit 0

#!/usr/bin/env bash
# ApplicationStart, as the recipe does it: nohup the new app on the idle port, then sleep a fixed 10 s.
source "$(dirname "$0")/common.sh"
IDLE_PORT=$(idle_port)
echo "> nohup app on port $IDLE_PORT"
cd "$APP_DIR"
PORT=$IDLE_PORT nohup $APP_CMD --port="$IDLE_PORT" > nohup.out 2>&1 < /dev/null &
sleep 10
exit 0

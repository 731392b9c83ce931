# The widely copied blue/green recipe, split into CodeDeploy hooks, as the benchmark's baseline (not portproof).
# Settings come from the environment the benchmark sets: INCLUDE (nginx include file), PORTS ("8081 8082"),
# APP_CMD (the app's command, with PORT exported), APP_DIR (where nohup.out goes), NGINX_ARGS (e.g. "-p prefix -c conf").

current_port() {
  grep -Po '[0-9]+(?=;)' "$INCLUDE" | tail -1
}

idle_port() {
  local current
  current=$(current_port)
  for p in $PORTS; do
    if [ "$p" != "$current" ]; then echo "$p"; return; fi
  done
}

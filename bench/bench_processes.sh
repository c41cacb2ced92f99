# Sourced by the bench scripts that start servers: a temporary folder in
# `work`, the background processes they start collected in `pids`, all killed
# and the folder removed on exit (with any other paths a script adds to
# `cleanup_paths`); start_redis starts a plain redis-server on a random
# loopback port, given in `port`, that keeps nothing on disk.
work="$(mktemp -d)"
pids=()
cleanup_paths=()
cleanup() {
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work" "${cleanup_paths[@]}"
}
trap cleanup EXIT

start_redis() {
  port=$(( 20000 + RANDOM % 20000 ))
  redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$work" >"$work/redis.log" 2>&1 &
  pids+=($!)
}

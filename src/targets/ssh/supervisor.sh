#!/bin/sh
# Greenlight's instance supervisor. The ssh target uploads it and runs one per instance: started with
# setsid + nohup (runners/supervisor.ts), or as the main process of a systemd unit (runners/systemd.ts),
# so the instance survives the SSH session and the controller.
# It runs <dir>/run.sh in its own process group, restarts it after a crash with a doubling back-off
# (only once the controller has armed it: a crash during start is reported, not retried), stops it
# gracefully on SIGTERM (TERM to the group, SIGKILL after the grace) and appends what happens to the
# host's event file, which the controller follows.
#   supervisor.sh <instance-dir> <events-file> <id> <grace-ms> <backoff-initial-ms> <backoff-max-ms> <reset-after-ms>
dir=$1 events=$2 id=$3 grace=$4 initial=$5 max=$6 reset=$7

now_ms() { date +%s%3N; }
ev() { printf '%s %s %s\n' "$(now_ms)" "$id" "$*" >>"$events"; }
# a zombie (exited, not yet reaped by `wait`) is not alive
alive() { kill -0 "$1" 2>/dev/null && [ "$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)" != Z ]; }

stopping=0
trap 'stopping=1' TERM INT HUP
echo $$ >"$dir/supervisor.pid"

finish() {
  rm -f "$dir/supervisor.pid" "$dir/child.pid"
  exit 0
}

stop_child() {
  kill -TERM -"$child" 2>/dev/null || kill -TERM "$child" 2>/dev/null
  # the grace is measured here, not by sleeping: the child's exit must end the wait at once
  start=$(now_ms)
  graceful=1
  while alive "$child"; do
    if [ $(($(now_ms) - start)) -ge "$grace" ]; then
      graceful=0
      kill -KILL -"$child" 2>/dev/null || kill -KILL "$child" 2>/dev/null
      break
    fi
    sleep 0.02
  done
  wait "$child" 2>/dev/null
  code=$?
  kill -KILL -"$child" 2>/dev/null
  ev stopped "$code" "$graceful"
  finish
}

attempt=0
restarts=0
while :; do
  [ "$stopping" = 1 ] && { ev stopped none 1; finish; }
  started=$(now_ms)
  setsid sh "$dir/run.sh" >>"$dir/log" 2>&1 </dev/null &
  child=$!
  echo "$child" >"$dir/child.pid"
  # with its own pid: a new one (systemd started it again after it died) is told from a restart
  ev started "$child" "$restarts" "$$"
  while :; do
    wait "$child"
    code=$?
    # wait returns early when a signal arrives; the child may still be running
    if alive "$child"; then
      [ "$stopping" = 1 ] && stop_child
      continue
    fi
    break
  done
  [ "$stopping" = 1 ] && { kill -KILL -"$child" 2>/dev/null; ev stopped "$code" 1; finish; }
  # anything the instance left in its group goes with it (it may hold the port)
  kill -KILL -"$child" 2>/dev/null
  if [ ! -e "$dir/armed" ]; then
    ev exited "$code"
    finish
  fi
  [ $(($(now_ms) - started)) -ge "$reset" ] && attempt=0
  delay=$initial
  n=0
  while [ "$n" -lt "$attempt" ] && [ "$delay" -lt "$max" ]; do delay=$((delay * 2)); n=$((n + 1)); done
  [ "$delay" -gt "$max" ] && delay=$max
  attempt=$((attempt + 1))
  ev crashed "$code" "$delay" "$attempt"
  # a background sleep, so a SIGTERM during the back-off is handled at once
  sleep "$(awk "BEGIN { print $delay / 1000 }")" &
  wait $!
  [ "$stopping" = 1 ] && { ev stopped none 1; finish; }
  restarts=$((restarts + 1))
done

#!/bin/sh
# Starts a private X server for headless-gl, then replaces itself with the command (the
# worker by default), which so receives SIGTERM directly and can finish its running shards.
set -eu
display="${GPU_WORKER_DISPLAY:-:99}"
Xvfb "$display" -screen 0 1024x768x24 -nolisten tcp >/dev/null 2>&1 &
socket="/tmp/.X11-unix/X${display#:}"
tries=0
until [ -S "$socket" ]; do
  tries=$((tries + 1))
  if [ "$tries" -gt 100 ]; then
    echo "gpu-worker: Xvfb did not start on display $display" >&2
    exit 1
  fi
  sleep 0.1
done
export DISPLAY="$display"
exec "$@"

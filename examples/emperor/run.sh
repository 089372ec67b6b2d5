#!/bin/sh
# One command for seed 000: an Emperor with two vassals on unix sockets, and nginx in front.
#   ./examples/emperor/run.sh
#   curl -H 'Host: app1.example.test' http://127.0.0.1:8080/     (and app2.example.test)
# Ctrl-C (or SIGTERM to this script) stops the Emperor (which stops its vassals) and nginx.
# Port: EXAMPLE_HTTP_PORT (nginx, 8080). PYTHON picks the interpreter.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
PYTHON=${PYTHON:-python3}
HTTP_PORT=${EXAMPLE_HTTP_PORT:-8080}
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
. "$HERE/../nginx-runtime.sh"

RUN=$(make_nginx_runtime)
sed -e "s/127.0.0.1:8080/127.0.0.1:$HTTP_PORT/" -e "s#@RUN@#$RUN#g" "$HERE/nginx.conf" > "$RUN/site.conf"

# the vassals read their socket directory from the environment the Emperor passes on
EXAMPLE_RUN_DIR=$RUN "$PYTHON" -m satrap --ini "$HERE/emperor.ini" &
EMPEROR_PID=$!
"$NGINX" -p "$RUN" -e "$RUN/error.log" -c "$RUN/nginx.conf" -g 'daemon off;' &
NGINX_PID=$!
echo "run.sh: emperor pid $EMPEROR_PID, nginx pid $NGINX_PID on http://127.0.0.1:$HTTP_PORT/ (Host: app1.example.test / app2.example.test)"

stop() {
    trap - INT TERM EXIT
    kill -INT "$EMPEROR_PID" 2>/dev/null || true   # the Emperor stops every vassal gracefully
    kill -QUIT "$NGINX_PID" 2>/dev/null || true
    wait "$EMPEROR_PID" 2>/dev/null || true
    wait "$NGINX_PID" 2>/dev/null || true
    rm -rf "$RUN"
    exit 0
}
trap stop INT TERM EXIT
wait "$EMPEROR_PID" || true
stop

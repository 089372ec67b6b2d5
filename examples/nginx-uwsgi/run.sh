#!/bin/sh
# One command for seed 001: nginx (http://127.0.0.1:8080/) -> uwsgi_pass -> satrap (127.0.0.1:4242) -> Flask.
#   ./examples/nginx-uwsgi/run.sh          Ctrl-C (or SIGTERM to this script) stops both.
# Ports: EXAMPLE_HTTP_PORT (nginx, 8080) and EXAMPLE_APP_PORT (satrap, 4242). PYTHON picks the interpreter.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
PYTHON=${PYTHON:-python3}
HTTP_PORT=${EXAMPLE_HTTP_PORT:-8080}
APP_PORT=${EXAMPLE_APP_PORT:-4242}
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
. "$HERE/../nginx-runtime.sh"

RUN=$(make_nginx_runtime)
sed -e "s/127.0.0.1:8080/127.0.0.1:$HTTP_PORT/" -e "s/127.0.0.1:4242/127.0.0.1:$APP_PORT/" \
    "$HERE/nginx.conf" > "$RUN/site.conf"

EXAMPLE_APP_PORT=$APP_PORT "$PYTHON" -m satrap --ini "$HERE/satrap.ini" &
SATRAP_PID=$!
"$NGINX" -p "$RUN" -e "$RUN/error.log" -c "$RUN/nginx.conf" -g 'daemon off;' &
NGINX_PID=$!
echo "run.sh: satrap pid $SATRAP_PID on 127.0.0.1:$APP_PORT, nginx pid $NGINX_PID on http://127.0.0.1:$HTTP_PORT/"

stop() {
    trap - INT TERM EXIT
    kill -INT "$SATRAP_PID" 2>/dev/null || true    # graceful: in-flight requests finish
    kill -QUIT "$NGINX_PID" 2>/dev/null || true    # nginx's graceful stop
    wait "$SATRAP_PID" 2>/dev/null || true
    wait "$NGINX_PID" 2>/dev/null || true
    rm -rf "$RUN"
    exit 0
}
trap stop INT TERM EXIT
wait "$SATRAP_PID" || true
stop

# Shared by the examples' run.sh: a throw-away nginx prefix (config, logs, temp dirs) under /tmp,
# with the http {} skeleton around the example's site.conf. Not needed on a real server, where
# the example's nginx.conf goes into /etc/nginx/sites-enabled/ instead.
make_nginx_runtime() {
    run=$(mktemp -d /tmp/satrap-example.XXXXXX)
    chmod 755 "$run"               # nginx's workers (nobody when started as root) read from here
    mkdir -p "$run/logs"
    if [ -f /etc/nginx/uwsgi_params ]; then
        cp /etc/nginx/uwsgi_params "$run/uwsgi_params"
    else
        for p in QUERY_STRING:query_string REQUEST_METHOD:request_method CONTENT_TYPE:content_type \
                 CONTENT_LENGTH:content_length REQUEST_URI:request_uri PATH_INFO:document_uri \
                 DOCUMENT_ROOT:document_root SERVER_PROTOCOL:server_protocol REQUEST_SCHEME:scheme \
                 REMOTE_ADDR:remote_addr REMOTE_PORT:remote_port SERVER_PORT:server_port \
                 SERVER_NAME:server_name; do
            echo "uwsgi_param ${p%%:*} \$${p#*:};" >> "$run/uwsgi_params"
        done
    fi
    user=""
    [ "$(id -u)" = 0 ] && user="user nobody nogroup;"
    cat > "$run/nginx.conf" <<CONF
$user
worker_processes 1;
pid $run/nginx.pid;
error_log $run/error.log;
events { worker_connections 256; }
http {
    access_log $run/logs/access.log;
    client_body_temp_path $run/client_body;
    proxy_temp_path $run/proxy;
    fastcgi_temp_path $run/fastcgi;
    uwsgi_temp_path $run/uwsgi;
    scgi_temp_path $run/scgi;
    include $run/site.conf;
}
CONF
    echo "$run"
}

"""Every option name in uWSGI 2.x (core and bundled plugins), as facts: spellings, value kind,
short flag, implication flags and the plugin that defines it.

Why a name list: a real uWSGI option must never be reported as a typo, even when satrap does not
implement it. Rows here only give the *name facts*; :mod:`satrap.options.catalog` decides the
support status. Format per line: ``spellings|kind|short|flags|plugin``. Collected from the option
tables of unbit/uwsgi (core/*.c, plugins/*/*.c) at commit 6cbb2177; regenerate by hand.
"""

from __future__ import annotations

UWSGI_NAMES = """\
socket|list|s|-|core
uwsgi-socket|list|s|-|core
suwsgi-socket|list|-|-|core
ssl-socket|list|-|-|core
http-socket|list|-|-|core
http-socket-modifier1|int|-|-|core
http-socket-modifier2|int|-|-|core
http11-socket|list|-|-|core
http-path-info-no-decode-slashes|bool|-|-|core
https-socket|list|-|-|core
https-socket-modifier1|int|-|-|core
https-socket-modifier2|int|-|-|core
fastcgi-socket|list|-|-|core
fastcgi-nph-socket|list|-|-|core
fastcgi-modifier1|int|-|-|core
fastcgi-modifier2|int|-|-|core
scgi-socket|list|-|-|core
scgi-nph-socket|list|-|-|core
scgi-modifier1|int|-|-|core
scgi-modifier2|int|-|-|core
raw-socket|list|-|-|core
raw-modifier1|int|-|-|core
raw-modifier2|int|-|-|core
puwsgi-socket|list|-|-|core
protocol socket-protocol|str|-|-|core
shared-socket|list|-|-|core
undeferred-shared-socket|list|-|-|core
processes workers|int|p|-|core
thunder-lock|bool|-|-|core
thunder-lock-watchdog|bool|-|-|core
harakiri|int|t|-|core
harakiri-verbose|bool|-|-|core
harakiri-graceful-timeout|int|-|-|core
harakiri-graceful-signal|int|-|-|core
harakiri-queue-threshold|int|-|-|core
harakiri-no-arh no-harakiri-arh no-harakiri-after-req-hook|bool|-|-|core
backtrace-depth|int|-|-|core
mule-harakiri|int|-|-|core
xmlconfig|str|x|immediate|core
xml|str|x|immediate|core
config|str|-|immediate|core
fallback-config|str|-|immediate|core
strict|bool|-|immediate|core
skip-zero|bool|-|-|core
skip-atexit|bool|-|-|core
skip-atexit-teardown|bool|-|-|core
set|str|S|immediate|core
set-placeholder|str|-|immediate|core
set-ph|str|-|immediate|core
get|list|-|no_initial|core
declare-option|list|-|immediate|core
declare-option2|list|-|-|core
resolve|str|-|immediate|core
for|list|-|immediate|core
for-glob|list|-|immediate|core
for-times|list|-|immediate|core
for-readline|list|-|immediate|core
endfor|str|-|immediate|core
end-for|str|-|immediate|core
if-opt|list|-|immediate|core
if-not-opt|list|-|immediate|core
if-env|list|-|immediate|core
if-not-env|list|-|immediate|core
ifenv|list|-|immediate|core
if-reload|bool|-|immediate|core
if-not-reload|bool|-|immediate|core
if-hostname|list|-|immediate|core
if-not-hostname|list|-|immediate|core
if-hostname-match|list|-|immediate|core
if-not-hostname-match|list|-|immediate|core
if-exists|list|-|immediate|core
if-not-exists|list|-|immediate|core
ifexists|list|-|immediate|core
if-plugin|list|-|immediate|core
if-not-plugin|list|-|immediate|core
ifplugin|list|-|immediate|core
if-file|list|-|immediate|core
if-not-file|list|-|immediate|core
if-dir|list|-|immediate|core
if-not-dir|list|-|immediate|core
ifdir|list|-|immediate|core
if-directory|list|-|immediate|core
endif|str|-|immediate|core
end-if|str|-|immediate|core
else|list|-|immediate|core
blacklist|str|-|immediate|core
end-blacklist|bool|-|immediate|core
whitelist|str|-|immediate|core
end-whitelist|bool|-|immediate|core
ignore-sigpipe|bool|-|-|core
ignore-write-errors|bool|-|-|core
write-errors-tolerance|int|-|-|core
write-errors-exception-only|bool|-|-|core
disable-write-exception|bool|-|-|core
inherit|str|-|-|core
include|str|-|immediate|core
inject-before|list|-|immediate|core
inject-after|list|-|immediate|core
daemonize|str|d|-|core
daemonize2|str|-|-|core
stop|str|-|immediate|core
reload|str|-|immediate|core
pause|str|-|immediate|core
suspend|str|-|immediate|core
resume|str|-|immediate|core
connect-and-read|str|-|immediate|core
extract|str|-|immediate|core
listen|int|l|immediate|core
max-vars|str|v|-|core
max-apps|int|-|-|core
buffer-size|int|b|-|core
memory-report|int|m|-|core
profiler|str|-|-|core
cgi-mode|bool|c|-|core
abstract-socket|bool|a|-|core
chmod-socket|str|C|-|core
chmod|str|C|-|core
chown-socket|str|-|-|core
umask|str|-|immediate|core
freebind|bool|-|-|core
map-socket|list|-|-|core
enable-threads|bool|T|-|core
no-threads-wait|bool|-|-|core
auto-procname|bool|-|-|core
procname-prefix|str|-|procname|core
procname-prefix-spaced|str|-|procname|core
procname-append|str|-|procname|core
procname|str|-|procname|core
procname-master|str|-|procname|core
single-interpreter|bool|i|-|core
need-app|bool|-|-|core
dynamic-apps|bool|-|-|core
master|bool|M|-|core
honour-stdin|bool|-|-|core
emperor|list|-|-|core
emperor-proxy-socket|str|-|-|core
emperor-wrapper|str|-|-|core
emperor-wrapper-override|list|-|-|core
emperor-wrapper-fallback|list|-|-|core
emperor-nofollow|bool|-|-|core
emperor-procname|str|-|-|core
emperor-freq|int|-|-|core
emperor-required-heartbeat|int|-|-|core
emperor-curse-tolerance|int|-|-|core
emperor-pidfile|str|-|-|core
emperor-tyrant|bool|-|-|core
emperor-tyrant-nofollow|bool|-|-|core
emperor-tyrant-initgroups|bool|-|-|core
emperor-stats emperor-stats-server|str|-|-|core
emperor-trigger-socket|str|-|-|core
early-emperor|bool|-|-|core
emperor-command-socket|str|-|-|core
emperor-wait-for-command|bool|-|-|core
emperor-wait-for-command-ignore|list|-|-|core
emperor-broodlord|int|-|-|core
emperor-throttle|int|-|-|core
emperor-max-throttle|int|-|-|core
emperor-magic-exec|bool|-|-|core
emperor-on-demand-extension emperor-on-demand-ext|str|-|-|core
emperor-on-demand-directory emperor-on-demand-dir|str|-|-|core
emperor-on-demand-exec|str|-|-|core
emperor-extra-extension emperor-extra-ext|list|-|-|core
emperor-no-blacklist|bool|-|-|core
emperor-use-clone|str|-|-|core
emperor-use-fork-server|str|-|-|core
vassal-fork-base|list|-|-|core
emperor-subreaper|bool|-|-|core
emperor-graceful-shutdown|bool|-|-|core
emperor-cap|str|-|-|core
vassals-cap|str|-|-|core
vassal-cap|str|-|-|core
emperor-collect-attribute emperor-collect-attr|list|-|-|core
emperor-fork-server-attr|str|-|-|core
emperor-wrapper-attr|str|-|-|core
emperor-chdir-attr|str|-|-|core
imperial-monitor-list imperial-monitors-list|bool|-|-|core
vassals-inherit|list|-|-|core
vassals-include|list|-|-|core
vassals-inherit-before|list|-|-|core
vassals-include-before|list|-|-|core
vassals-start-hook|str|-|-|core
vassals-stop-hook|str|-|-|core
vassal-sos|int|-|-|core
vassal-sos-backlog|int|-|-|core
vassals-set vassal-set|list|-|-|core
heartbeat|int|-|-|core
zeus|str|-|-|core
reload-mercy|int|-|-|core
worker-reload-mercy|int|-|-|core
mule-reload-mercy|int|-|-|core
exit-on-reload|bool|-|-|core
die-on-term|bool|-|-|core
force-gateway|bool|-|-|core
help|bool|h|immediate|core
usage|bool|h|immediate|core
print-sym|str|-|immediate|core
print-symbol|str|-|immediate|core
reaper|bool|r|-|core
max-requests|int|R|-|core
max-requests-delta|int|-|-|core
min-worker-lifetime|int|-|-|core
max-worker-lifetime|int|-|-|core
max-worker-lifetime-delta|int|-|-|core
socket-timeout|int|z|-|core
no-fd-passing|bool|-|-|core
locks|int|-|-|core
lock-engine|str|-|-|core
ftok|str|-|-|core
persistent-ipcsem|bool|-|-|core
sharedarea|list|A|-|core
safe-fd|str|-|-|core
fd-safe|str|-|-|core
cache|int|-|-|core
cache-blocksize|int|-|-|core
cache-store|str|-|master|core
cache-store-sync|int|-|-|core
cache-no-expire|bool|-|-|core
cache-expire-freq|int|-|-|core
cache-report-freed-items|bool|-|-|core
cache-udp-server|list|-|master|core
cache-udp-node|list|-|master|core
cache-sync|str|-|-|core
cache-use-last-modified|bool|-|-|core
add-cache-item|list|-|-|core
load-file-in-cache|list|-|-|core
load-file-in-cache-gzip|list|-|-|core
cache2|list|-|-|core
queue|int|-|-|core
queue-blocksize|int|-|-|core
queue-store|str|-|master|core
queue-store-sync|int|-|-|core
spooler|list|Q|master|core
spooler-external|list|-|master|core
spooler-ordered|bool|-|-|core
spooler-chdir|str|-|-|core
spooler-processes|int|-|immediate|core
spooler-quiet|bool|-|-|core
spooler-max-tasks|int|-|-|core
spooler-signal-as-task|bool|-|-|core
spooler-harakiri|int|-|-|core
spooler-frequency spooler-freq|int|-|-|core
spooler-cheap|bool|-|-|core
mule|list|-|master|core
mules|list|-|master|core
farm|list|-|master|core
mule-msg-size|int|-|master|core
mule-msg-recv-size|int|-|master|core
signal|str|-|immediate|core
signal-bufsize signals-bufsize|int|-|-|core
signal-timer timer|list|-|master|core
signal-rbtimer rbtimer|list|-|master|core
rpc-max|int|-|-|core
disable-logging|bool|L|-|core
flock|str|-|immediate|core
flock-wait|str|-|immediate|core
flock2|str|-|immediate|core
flock-wait2|str|-|immediate|core
pidfile|str|-|-|core
pidfile2|str|-|-|core
safe-pidfile|str|-|-|core
safe-pidfile2|str|-|-|core
chroot|str|-|-|core
pivot-root pivot_root|str|-|-|core
uid|str|-|-|core
gid|str|-|-|core
add-gid|list|-|-|core
immediate-uid|str|-|immediate|core
immediate-gid|str|-|immediate|core
no-initgroups|bool|-|-|core
cap|str|-|-|core
unshare|str|-|-|core
unshare2|str|-|-|core
setns-socket|str|-|master|core
setns-socket-skip setns-skip|list|-|-|core
setns|str|-|-|core
setns-preopen|bool|-|-|core
fork-socket fork-server|str|-|-|core
jailed|bool|-|-|core
jail|str|-|-|core
jail-ip4|list|-|-|core
jail-ip6|list|-|-|core
jidfile jid-file|str|-|-|core
jail2 libjail|list|-|-|core
jail-attach|str|-|-|core
refork re-fork|bool|-|-|core
refork-as-root re-fork-as-root|bool|-|-|core
refork-post-jail re-fork-post-jail|bool|-|-|core
hook-asap|list|-|-|core
hook-pre-jail|list|-|-|core
hook-post-jail|list|-|-|core
hook-in-jail|list|-|-|core
hook-as-root|list|-|-|core
hook-as-user|list|-|-|core
hook-as-user-atexit|list|-|-|core
hook-pre-app|list|-|-|core
hook-post-app|list|-|-|core
hook-post-fork|list|-|-|core
hook-accepting|list|-|-|core
hook-accepting1|list|-|-|core
hook-accepting-once|list|-|-|core
hook-accepting1-once|list|-|-|core
hook-master-start|list|-|-|core
hook-touch|list|-|-|core
hook-emperor-start|list|-|-|core
hook-emperor-stop|list|-|-|core
hook-emperor-reload|list|-|-|core
hook-emperor-lost|list|-|-|core
hook-as-vassal|list|-|-|core
hook-as-emperor|list|-|-|core
hook-as-on-demand-vassal|list|-|-|core
hook-as-on-config-vassal|list|-|-|core
hook-as-emperor-before-vassal|list|-|-|core
hook-as-vassal-before-drop|list|-|-|core
hook-as-emperor-setns|list|-|-|core
hook-as-mule|list|-|-|core
hook-as-gateway|list|-|-|core
after-request-hook after-request-call|list|-|-|core
exec-asap|list|-|-|core
exec-pre-jail|list|-|-|core
exec-post-jail|list|-|-|core
exec-in-jail|list|-|-|core
exec-as-root|list|-|-|core
exec-as-user|list|-|-|core
exec-as-user-atexit|list|-|-|core
exec-pre-app|list|-|-|core
exec-post-app|list|-|-|core
exec-as-vassal|list|-|-|core
exec-as-emperor|list|-|-|core
mount-asap|list|-|-|core
mount-pre-jail|list|-|-|core
mount-post-jail|list|-|-|core
mount-in-jail|list|-|-|core
mount-as-root|list|-|-|core
mount-as-vassal|list|-|-|core
mount-as-emperor|list|-|-|core
umount-asap|list|-|-|core
umount-pre-jail|list|-|-|core
umount-post-jail|list|-|-|core
umount-in-jail|list|-|-|core
umount-as-root|list|-|-|core
umount-as-vassal|list|-|-|core
umount-as-emperor|list|-|-|core
wait-for-interface wait-interface wait-for-iface wait-iface|list|-|-|core
wait-for-interface-timeout wait-interface-timeout wait-for-iface-timeout wait-iface-timeout|int|-|-|core
wait-for-fs wait-for-file wait-for-dir|list|-|-|core
wait-for-mountpoint|list|-|-|core
wait-for-fs-timeout|int|-|-|core
wait-for-socket|list|-|-|core
wait-for-socket-timeout|int|-|-|core
call-asap|list|-|-|core
call-pre-jail|list|-|-|core
call-post-jail|list|-|-|core
call-in-jail|list|-|-|core
call-as-root|list|-|-|core
call-as-user|list|-|-|core
call-as-user-atexit|list|-|-|core
call-pre-app|list|-|-|core
call-post-app|list|-|-|core
call-as-vassal|list|-|-|core
call-as-vassal1|list|-|-|core
call-as-vassal3|list|-|-|core
call-as-emperor|list|-|-|core
call-as-emperor1|list|-|-|core
call-as-emperor2|list|-|-|core
call-as-emperor4|list|-|-|core
ini|str|-|immediate|core
yaml|str|y|immediate|core
yml|str|y|immediate|core
json|str|j|immediate|core
js|str|j|immediate|core
weight|int|-|-|core
auto-weight|bool|-|-|core
no-server|bool|-|-|core
command-mode|bool|-|immediate|core
no-defer-accept|bool|-|-|core
tcp-nodelay|bool|-|-|core
so-keepalive|bool|-|-|core
so-send-timeout socket-send-timeout so-write-timeout socket-write-timeout|bool|-|-|core
socket-sndbuf|int|-|-|core
socket-rcvbuf|int|-|-|core
limit-as|int|-|-|core
limit-nproc|int|-|-|core
reload-on-as|int|-|memory|core
reload-on-rss|int|-|memory|core
reload-on-uss|int|-|memory|core
reload-on-pss|int|-|memory|core
evil-reload-on-as|int|-|master,memory|core
evil-reload-on-rss|int|-|master,memory|core
mem-collector-freq|int|-|-|core
reload-on-fd|list|-|master|core
brutal-reload-on-fd|list|-|master|core
ksm|int|-|-|core
pcre-jit|bool|-|immediate|core
never-swap|bool|-|-|core
touch-reload|list|-|master|core
touch-workers-reload|list|-|master|core
touch-mules-reload|list|-|master|core
touch-spoolers-reload|list|-|master|core
touch-chain-reload|list|-|master|core
touch-logrotate|list|-|log_master,master|core
touch-logreopen|list|-|log_master,master|core
touch-exec|list|-|master|core
touch-signal|list|-|master|core
fs-reload|list|-|master|core
fs-brutal-reload|list|-|master|core
fs-signal|list|-|master|core
check-mountpoint mountpoint-check check-mount mount-check|list|-|master|core
propagate-touch|bool|-|-|core
limit-post|int|-|-|core
no-orphans|bool|-|-|core
prio|str|-|-|core
cpu-affinity|int|-|-|core
post-buffering|int|-|-|core
post-buffering-bufsize|int|-|-|core
body-read-warning|int|-|-|core
upload-progress|str|-|-|core
no-default-app|bool|-|-|core
manage-script-name|bool|-|-|core
ignore-script-name|bool|-|-|core
catch-exceptions|bool|-|-|core
reload-on-exception|bool|-|-|core
reload-on-exception-type|list|-|-|core
reload-on-exception-value|list|-|-|core
reload-on-exception-repr|list|-|-|core
exception-handler|list|-|master|core
enable-metrics|bool|-|master|core
metric|list|-|master,metrics|core
metric-threshold metric-alarm alarm-metric|list|-|master,metrics|core
metrics-dir metric-dir|str|-|master,metrics|core
metrics-dir-restore metric-dir-restore|bool|-|master,metrics|core
metrics-no-cores|bool|-|master,metrics|core
udp|str|-|master|core
stats stats-server|str|-|master|core
stats-http|bool|-|master|core
stats-minified stats-min|bool|-|master|core
stats-push|list|-|master,metrics|core
stats-pusher-default-freq stats-pushers-default-freq|int|-|master|core
stats-no-cores|bool|-|master|core
stats-no-metrics|bool|-|master|core
multicast|str|-|master|core
multicast-ttl|int|-|-|core
multicast-loop|int|-|-|core
master-fifo|list|-|master|core
notify-socket|str|-|master|core
subscription-notify-socket|str|-|master|core
subscription-mountpoints subscription-mountpoint|int|-|master|core
subscription-vassal-required|bool|-|master|core
legion|str|-|master|core
legion-mcast|str|-|master|core
legion-node|str|-|master|core
legion-freq|int|-|master|core
legion-tolerance|int|-|master|core
legion-death-on-lord-error|int|-|master|core
legion-skew-tolerance|int|-|master|core
legion-lord|list|-|master|core
legion-unlord|list|-|master|core
legion-setup|list|-|master|core
legion-death|list|-|master|core
legion-join|list|-|master|core
legion-node-joined|list|-|master|core
legion-node-left|list|-|master|core
legion-quorum|str|-|master|core
legion-scroll|str|-|master|core
legion-scroll-max-size|int|-|-|core
legion-scroll-list-max-size|int|-|-|core
subscriptions-sign-check|str|-|master|core
subscriptions-sign-check-tolerance|int|-|master|core
subscriptions-sign-skip-uid|list|-|master|core
subscriptions-credentials-check|list|-|master|core
subscriptions-use-credentials|bool|-|-|core
subscription-algo|str|-|-|core
subscription-dotsplit|bool|-|-|core
subscribe-to st subscribe|list|-|master|core
subscribe2|list|-|master|core
subscribe-freq|int|-|-|core
subscription-tolerance|int|-|-|core
subscription-tolerance-inactive|int|-|-|core
unsubscribe-on-graceful-reload|bool|-|-|core
start-unsubscribed|bool|-|-|core
subscription-clear-on-shutdown|bool|-|-|core
subscribe-with-modifier1|str|-|master|core
snmp|str|-|-|core
snmp-community|str|-|-|core
ssl-verbose|bool|-|-|core
ssl-verify-depth|int|-|-|core
ssl-sessions-use-cache ssl-session-use-cache|str|-|master|core
ssl-sessions-timeout ssl-session-timeout|int|-|-|core
sni|str|-|-|core
sni-dir|str|-|-|core
sni-dir-ciphers|str|-|-|core
ssl-enable3 ssl-enable-sslv3|bool|-|-|core
ssl-enable-tlsv1|bool|-|-|core
ssl-option|list|-|-|core
sni-regexp|str|-|-|core
ssl-tmp-dir|str|-|-|core
check-interval|int|-|master|core
forkbomb-delay|int|-|master|core
binary-path|str|-|-|core
privileged-binary-patch|str|-|-|core
unprivileged-binary-patch|str|-|-|core
privileged-binary-patch-arg|str|-|-|core
unprivileged-binary-patch-arg|str|-|-|core
async|int|-|-|core
disable-async-warn-on-queue-full|bool|-|-|core
max-fd|int|-|-|core
logto|str|-|-|core
logto2|str|-|-|core
log-format logformat|str|-|-|core
logformat-strftime log-format-strftime|bool|-|-|core
logfile-chown|bool|-|-|core
logfile-chmod|str|-|-|core
log-syslog|str|-|log_master,master|core
log-socket|str|-|log_master,master|core
req-logger|str|-|req_log_master|core
logger-req|str|-|req_log_master|core
logger|str|-|log_master,master|core
worker-logger|str|-|-|core
worker-logger-req|str|-|-|core
logger-list loggers-list|bool|-|-|core
threaded-logger|bool|-|log_master,master|core
log-encoder worker-log-encoder|list|-|log_master,master|core
log-req-encoder worker-log-req-encoder|list|-|log_master,master|core
log-drain|list|-|log_master,master|core
log-filter|list|-|log_master,master|core
log-route|list|-|log_master,master|core
log-req-route|list|-|req_log_master|core
use-abort|bool|-|-|core
alarm|list|-|master|core
alarm-cheap|bool|-|-|core
alarm-freq|int|-|-|core
alarm-fd|list|-|master|core
alarm-segfault segfault-alarm|list|-|master|core
alarm-backlog backlog-alarm lq-alarm alarm-lq alarm-listen-queue listen-queue-alarm|list|-|master|core
log-alarm alarm-log|list|-|log_master,master|core
not-log-alarm not-alarm-log|list|-|log_master,master|core
alarm-list alarms-list|bool|-|-|core
alarm-msg-size|int|-|-|core
log-master|bool|-|log_master,master|core
log-master-bufsize|int|-|-|core
log-master-stream|bool|-|-|core
log-master-req-stream|bool|-|-|core
log-reopen|bool|-|-|core
log-truncate|bool|-|-|core
log-maxsize|int|-|log_master,master|core
log-backupname|str|-|-|core
logdate|str|-|-|core
log-date|str|-|-|core
log-prefix|str|-|-|core
log-zero|bool|-|-|core
log-slow|int|-|-|core
log-4xx|bool|-|-|core
log-5xx|bool|-|-|core
log-big|int|-|-|core
log-sendfile|bool|-|-|core
log-ioerror|bool|-|-|core
log-micros|bool|-|-|core
log-x-forwarded-for|bool|-|-|core
master-as-root|bool|-|-|core
drop-after-init|bool|-|-|core
drop-after-apps|bool|-|-|core
force-cwd|str|-|-|core
binsh|list|-|-|core
chdir|str|-|-|core
chdir2|str|-|-|core
lazy|bool|-|-|core
lazy-apps|bool|-|-|core
cheap|bool|-|master|core
cheaper|int|-|cheaper,master|core
cheaper-initial|int|-|cheaper,master|core
cheaper-algo|str|-|master|core
cheaper-step|int|-|cheaper,master|core
cheaper-overload|int|-|cheaper,master|core
cheaper-idle|int|-|cheaper,master|core
cheaper-algo-list cheaper-algos-list cheaper-list|bool|-|-|core
cheaper-rss-limit-soft|int|-|cheaper,master|core
cheaper-rss-limit-hard|int|-|cheaper,master|core
idle|int|-|master|core
die-on-idle|bool|-|-|core
die-on-no-workers|bool|-|-|core
mount worker-mount|list|-|-|core
threads|int|-|threads|core
thread-stacksize threads-stacksize thread-stack-size threads-stack-size|int|-|threads|core
vhost|bool|-|-|core
vhost-host|bool|-|vhost|core
route|list|-|-|core
route-host|list|-|-|core
route-uri|list|-|-|core
route-qs|list|-|-|core
route-remote-addr|list|-|-|core
route-user-agent|list|-|-|core
route-remote-user|list|-|-|core
route-referer|list|-|-|core
route-label|list|-|-|core
route-if|list|-|-|core
route-if-not|list|-|-|core
route-run|list|-|-|core
final-route|list|-|-|core
final-route-status|list|-|-|core
final-route-host|list|-|-|core
final-route-uri|list|-|-|core
final-route-qs|list|-|-|core
final-route-remote-addr|list|-|-|core
final-route-user-agent|list|-|-|core
final-route-remote-user|list|-|-|core
final-route-referer|list|-|-|core
final-route-label|list|-|-|core
final-route-if|list|-|-|core
final-route-if-not|list|-|-|core
final-route-run|list|-|-|core
error-route|list|-|-|core
error-route-status|list|-|-|core
error-route-host|list|-|-|core
error-route-uri|list|-|-|core
error-route-qs|list|-|-|core
error-route-remote-addr|list|-|-|core
error-route-user-agent|list|-|-|core
error-route-remote-user|list|-|-|core
error-route-referer|list|-|-|core
error-route-label|list|-|-|core
error-route-if|list|-|-|core
error-route-if-not|list|-|-|core
error-route-run|list|-|-|core
response-route|list|-|-|core
response-route-status|list|-|-|core
response-route-host|list|-|-|core
response-route-uri|list|-|-|core
response-route-qs|list|-|-|core
response-route-remote-addr|list|-|-|core
response-route-user-agent|list|-|-|core
response-route-remote-user|list|-|-|core
response-route-referer|list|-|-|core
response-route-label|list|-|-|core
response-route-if|list|-|-|core
response-route-if-not|list|-|-|core
response-route-run|list|-|-|core
router-list routers-list|bool|-|-|core
error-page-403|list|-|-|core
error-page-404|list|-|-|core
error-page-500|list|-|-|core
websockets-ping-freq websocket-ping-freq|int|-|-|core
websockets-pong-tolerance websocket-pong-tolerance|int|-|-|core
websockets-max-size websocket-max-size|int|-|-|core
chunked-input-limit|int|-|-|core
chunked-input-timeout|int|-|-|core
clock|str|-|-|core
clock-list clocks-list|bool|-|-|core
add-header|list|-|-|core
rem-header del-header|list|-|-|core
collect-header response-header-collect|list|-|-|core
pull-header|list|-|-|core
check-static|str|-|mime|core
check-static-docroot|bool|-|mime|core
static-check|str|-|mime|core
static-map|list|-|mime|core
static-map2|list|-|mime|core
static-skip-ext|list|-|mime|core
static-index|list|-|mime|core
static-safe|list|-|mime|core
static-cache-paths|int|-|master,mime|core
static-cache-paths-name|str|-|master,mime|core
mimefile mime-file|list|-|mime|core
static-expires-type|list|-|mime|core
static-expires-type-mtime|list|-|mime|core
static-expires|list|-|mime|core
static-expires-mtime|list|-|mime|core
static-expires-uri|list|-|mime|core
static-expires-uri-mtime|list|-|mime|core
static-expires-path-info|list|-|mime|core
static-expires-path-info-mtime|list|-|mime|core
static-gzip|list|-|mime|core
static-gzip-all|bool|-|mime|core
static-gzip-dir static-gzip-prefix|list|-|mime|core
static-gzip-ext static-gzip-suffix|list|-|mime|core
honour-range|bool|-|-|core
offload-threads offload-thread|int|-|-|core
file-serve-mode|str|-|mime|core
fileserve-mode|str|-|mime|core
disable-sendfile|bool|-|-|core
check-cache|str|-|-|core
close-on-exec|bool|-|-|core
close-on-exec2|bool|-|-|core
mode|str|-|-|core
env|list|-|-|core
ienv|list|-|immediate|core
envdir|list|-|-|core
early-envdir|str|-|immediate|core
unenv|list|-|-|core
vacuum|bool|-|-|core
file-write|list|-|-|core
cgroup|list|-|-|core
cgroup-opt|list|-|-|core
cgroup-dir-mode|str|-|-|core
namespace ns|str|-|-|core
namespace-keep-mount|list|-|-|core
namespace-net ns-net|str|-|-|core
enable-proxy-protocol|bool|-|-|core
reuse-port|bool|-|-|core
tcp-fast-open tcp-fastopen|int|-|-|core
tcp-fast-open-client tcp-fastopen-client|bool|-|-|core
zerg|list|-|-|core
zerg-fallback|bool|-|-|core
zerg-server|str|-|master|core
cron|list|-|master|core
cron2|list|-|master|core
unique-cron|list|-|master|core
cron-harakiri|int|-|-|core
legion-cron|list|-|master|core
cron-legion|list|-|master|core
unique-legion-cron|list|-|master|core
unique-cron-legion|list|-|master|core
loop|str|-|-|core
loop-list loops-list|bool|-|-|core
worker-exec|str|-|-|core
worker-exec2|str|-|-|core
attach-daemon|list|-|master|core
attach-control-daemon|list|-|master|core
smart-attach-daemon|list|-|master|core
smart-attach-daemon2|list|-|master|core
legion-attach-daemon|list|-|master|core
legion-smart-attach-daemon|list|-|master|core
legion-smart-attach-daemon2|list|-|master|core
daemons-honour-stdin|bool|-|master|core
attach-daemon2|list|-|master|core
plugins|list|-|immediate|core
plugin|list|-|immediate|core
need-plugins|list|-|immediate|core
need-plugin|list|-|immediate|core
plugins-dir plugin-dir|list|-|immediate|core
plugins-list plugin-list|bool|-|-|core
autoload|bool|-|immediate|core
dlopen|str|-|immediate|core
allowed-modifiers|str|-|-|core
remap-modifier|str|-|-|core
dump-options|bool|-|-|core
show-config|bool|-|-|core
binary-append-data|str|-|immediate|core
print|str|-|-|core
iprint|str|-|immediate|core
exit|str|-|immediate|core
cflags|bool|-|immediate|core
dot-h|bool|-|immediate|core
config-py|bool|-|immediate|core
build-plugin|str|-|immediate|core
version|bool|-|-|core
response-headers-limit|int|-|-|core
asyncio|str|-|threads|asyncio
carbon|list|-|master|carbon
carbon-timeout|int|-|-|carbon
carbon-freq|int|-|-|carbon
carbon-id|str|-|-|carbon
carbon-no-workers|bool|-|-|carbon
carbon-max-retry|int|-|-|carbon
carbon-retry-delay|int|-|-|carbon
carbon-root|str|-|-|carbon
carbon-hostname-dots|str|-|-|carbon
carbon-name-resolve carbon-resolve-names|bool|-|-|carbon
carbon-idle-avg|str|-|-|carbon
carbon-use-metrics|bool|-|-|carbon
cgi|list|-|-|cgi
cgi-map-helper|list|-|-|cgi
cgi-helper|list|-|-|cgi
cgi-from-docroot|bool|-|-|cgi
cgi-buffer-size|int|-|-|cgi
cgi-timeout|int|-|-|cgi
cgi-index|list|-|-|cgi
cgi-allowed-ext|list|-|-|cgi
cgi-unset|list|-|-|cgi
cgi-loadlib|list|-|-|cgi
cgi-optimize cgi-optimized|bool|-|-|cgi
cgi-path-info|bool|-|-|cgi
cgi-do-not-kill-on-error|bool|-|-|cgi
cgi-async-max-attempts|bool|-|-|cgi
cgi-close-stdin-on-eof|bool|-|-|cgi
cgi-safe|list|-|-|cgi
cgi-dontresolve|bool|-|-|cgi
cheaper-busyness-max|int|-|-|cheaper_busyness
cheaper-busyness-min|int|-|-|cheaper_busyness
cheaper-busyness-multiplier|int|-|-|cheaper_busyness
cheaper-busyness-penalty|int|-|-|cheaper_busyness
cheaper-busyness-verbose|bool|-|-|cheaper_busyness
cheaper-busyness-backlog-alert|int|-|-|cheaper_busyness
cheaper-busyness-backlog-multiplier|int|-|-|cheaper_busyness
cheaper-busyness-backlog-step|int|-|-|cheaper_busyness
cheaper-busyness-backlog-nonzero|int|-|-|cheaper_busyness
coroae|str|-|-|coroae
curl-cron|list|-|master|curl_cron
cron-curl|list|-|master|curl_cron
legion-curl-cron|list|-|master|curl_cron
legion-cron-curl|list|-|master|curl_cron
curl-cron-legion|list|-|master|curl_cron
cron-curl-legion|list|-|master|curl_cron
dumbloop-modifier1|int|-|-|dumbloop
dumbloop-code|str|-|-|dumbloop
dumbloop-function|str|-|-|dumbloop
fastrouter|list|-|-|fastrouter
fastrouter-processes fastrouter-workers|int|-|-|fastrouter
fastrouter-zerg|list|-|-|fastrouter
fastrouter-use-cache|str|-|-|fastrouter
fastrouter-use-pattern|list|-|-|fastrouter
fastrouter-use-base|list|-|-|fastrouter
fastrouter-fallback|list|-|-|fastrouter
fastrouter-use-code-string|list|-|-|fastrouter
fastrouter-use-socket|list|-|-|fastrouter
fastrouter-to|list|-|-|fastrouter
fastrouter-gracetime|int|-|-|fastrouter
fastrouter-events|int|-|-|fastrouter
fastrouter-quiet|bool|-|-|fastrouter
fastrouter-cheap|bool|-|-|fastrouter
fastrouter-subscription-server|list|-|-|fastrouter
fastrouter-subscription-slot|str|-|-|fastrouter
fastrouter-timeout|int|-|-|fastrouter
fastrouter-post-buffering|int|-|-|fastrouter
fastrouter-post-buffering-dir|str|-|-|fastrouter
fastrouter-stats fastrouter-stats-server fastrouter-ss|str|-|-|fastrouter
fastrouter-harakiri|int|-|-|fastrouter
fastrouter-uid|str|-|-|fastrouter
fastrouter-gid|str|-|-|fastrouter
fastrouter-resubscribe|list|-|-|fastrouter
fastrouter-resubscribe-bind|str|-|-|fastrouter
fastrouter-buffer-size|int|-|-|fastrouter
fastrouter-fallback-on-no-key|bool|-|-|fastrouter
fastrouter-force-key|str|-|-|fastrouter
fastrouter-emperor-socket|str|-|-|fastrouter
fastrouter-defer-connect-timeout|int|-|-|fastrouter
fastrouter-max-retries|int|-|-|fastrouter
fastrouter-subscription-fallback-key|list|-|-|fastrouter
fiber|bool|-|-|fiber
forkptyrouter forkpty-router|list|-|-|forkptyrouter
forkptyurouter forkpty-urouter|list|-|-|forkptyrouter
forkptyrouter-command forkpty-router-command forkptyrouter-cmd forkpty-router-cmd|str|-|-|forkptyrouter
forkptyrouter-rows|int|-|-|forkptyrouter
forkptyrouter-cols|int|-|-|forkptyrouter
forkptyrouter-processes forkptyrouter-workers|int|-|-|forkptyrouter
forkptyrouter-zerg|list|-|-|forkptyrouter
forkptyrouter-fallback|list|-|-|forkptyrouter
forkptyrouter-events|int|-|-|forkptyrouter
forkptyrouter-cheap|bool|-|-|forkptyrouter
forkptyrouter-timeout|int|-|-|forkptyrouter
forkptyrouter-stats forkptyrouter-stats-server forkptyrouter-ss|str|-|-|forkptyrouter
forkptyrouter-harakiri|int|-|-|forkptyrouter
go-load gccgo-load|list|-|-|gccgo
go-args gccgo-args|str|-|-|gccgo
goroutines|str|-|threads|gccgo
geoip-country|str|-|-|geoip
geoip-city|str|-|-|geoip
geoip-use-disk|bool|-|-|geoip
gevent|str|-|threads|gevent
gevent-monkey-patch|bool|-|-|gevent
gevent-early-monkey-patch|bool|-|-|gevent
gevent-wait-for-hub|bool|-|-|gevent
glusterfs-mount|list|-|mime|glusterfs
glusterfs-timeout|int|-|-|glusterfs
greenlet|bool|-|-|greenlet
http httprouter|list|-|-|http
https|str|-|-|http
https2|str|-|-|http
https-export-cert|bool|-|-|http
https-session-context|str|-|-|http
http-to-https|str|-|-|http
http-processes http-workers|int|-|-|http
http-var|list|-|-|http
http-to|list|-|-|http
http-zerg|list|-|-|http
http-fallback|list|-|-|http
http-modifier1|int|-|-|http
http-modifier2|int|-|-|http
http-use-cache|str|-|-|http
http-use-pattern|list|-|-|http
http-use-base|list|-|-|http
http-events|int|-|-|http
http-subscription-server|list|-|-|http
http-subscription-fallback-key|list|-|-|http
http-timeout|int|-|-|http
http-manage-expect|int|-|-|http
http-keepalive|int|-|-|http
http-auto-chunked|bool|-|-|http
http-auto-gzip|bool|-|-|http
http-raw-body|bool|-|-|http
http-websockets|bool|-|-|http
http-chunked-input|bool|-|-|http
http-use-code-string|list|-|-|http
http-use-socket|list|-|-|http
http-gracetime|int|-|-|http
http-quiet|bool|-|-|http
http-cheap|bool|-|-|http
http-stats http-stats-server http-ss|str|-|-|http
http-harakiri|int|-|-|http
http-stud-prefix|list|-|-|http
http-uid|str|-|-|http
http-gid|str|-|-|http
http-resubscribe|list|-|-|http
http-buffer-size|int|-|-|http
http-server-name-as-http-host|bool|-|-|http
http-headers-timeout|int|-|-|http
http-connect-timeout|int|-|-|http
http-manage-source|bool|-|-|http
http-enable-proxy-protocol|bool|-|-|http
http-backend-http|bool|-|-|http
http-manage-rtsp|bool|-|-|http
http-post-buffering|int|-|-|http
http-post-buffering-dir|str|-|-|http
jvm-main-class|list|-|-|jvm
jvm-opt|list|-|-|jvm
jvm-class|list|-|-|jvm
jvm-classpath|list|-|-|jvm
jwsgi|str|-|-|jwsgi
ldap|str|-|immediate|ldap
ldap-schema|bool|-|immediate|ldap
ldap-schema-ldif|bool|-|immediate|ldap
log-zeromq|str|-|log_master,master|logzmq
lua|str|-|-|lua
lua-load|list|-|-|lua
lua-postload|list|-|-|lua
lua-postfork-worker|list|-|-|lua
lua-postfork-mule|list|-|-|lua
lua-postfork-spooler|list|-|-|lua
lua-shell|bool|-|-|lua
luashell|bool|-|-|lua
lua-shell-oneshot|bool|-|-|lua
luashell-oneshot|bool|-|-|lua
lua-gc-freq|int|-|-|lua
lua-gc-full|bool|-|-|lua
zeromq|list|-|-|mongrel2
zmq|list|-|-|mongrel2
zeromq-socket|list|-|-|mongrel2
zmq-socket|list|-|-|mongrel2
mongrel2|list|-|-|mongrel2
mono-app|list|-|-|mono
mono-gc-freq|int|-|-|mono
mono-key|list|-|-|mono
mono-version|str|-|-|mono
mono-config|str|-|-|mono
mono-assembly|str|-|-|mono
mono-exec|list|-|-|mono
mono-index|list|-|-|mono
nagios|bool|-|no_initial|nagios
notfound-log|bool|-|-|notfound
pam|str|-|-|pam
pam-user|str|-|-|pam
php-ini|str|-|-|php
php-config|str|-|-|php
php-ini-append php-config-append|list|-|-|php
php-set|list|-|-|php
php-index|list|-|-|php
php-docroot|str|-|-|php
php-allowed-docroot|list|-|-|php
php-allowed-ext|list|-|-|php
php-allowed-script|list|-|-|php
php-server-software|str|-|-|php
php-app|str|-|-|php
php-app-qs|str|-|-|php
php-fallback|str|-|-|php
php-fallback2|str|-|-|php
php-fallback-qs|str|-|-|php
php-app-bypass|list|-|-|php
php-var|list|-|-|php
php-constant|list|-|-|php
php-dump-config|bool|-|-|php
php-exec-before php-exec-begin|list|-|-|php
php-exec-after php-exec-end|list|-|-|php
php-sapi-name early-php-sapi-name|str|-|-|php
early-php|bool|-|immediate|php
php-mount|list|-|-|php
ping|str|-|no_initial,no_server|ping
ping-timeout|int|-|-|ping
psgi|str|-|-|psgi
psgi-enable-psgix-io|bool|-|-|psgi
perl-no-die-catch|bool|-|-|psgi
perl-local-lib|str|-|-|psgi
perl-version|bool|-|immediate|psgi
perl-args|str|-|-|psgi
perl-arg|list|-|-|psgi
perl-exec|list|-|-|psgi
perl-exec-post-fork|list|-|-|psgi
perl-auto-reload|int|-|master|psgi
perl-auto-reload-ignore|list|-|master|psgi
plshell|str|-|-|psgi
plshell-oneshot|bool|-|-|psgi
perl-no-plack|bool|-|-|psgi
early-perl|str|-|immediate|psgi
early-psgi|str|-|immediate|psgi
early-perl-exec|str|-|immediate|psgi
pty-socket|str|-|-|pty
pty-log|bool|-|-|pty
pty-input|bool|-|-|pty
pty-connect|str|-|no_initial|pty
pty-uconnect|str|-|no_initial|pty
pty-no-isig|bool|-|-|pty
pty-exec|str|-|-|pty
pypy-lib|str|-|-|pypy
pypy-setup|str|-|-|pypy
pypy-home|str|-|-|pypy
pypy-wsgi|str|-|-|pypy
pypy-wsgi-file|str|-|-|pypy
pypy-ini-paste|str|-|immediate|pypy
pypy-paste|str|-|-|pypy
pypy-eval|list|-|-|pypy
pypy-eval-post-fork|list|-|-|pypy
pypy-exec|list|-|-|pypy
pypy-exec-post-fork|list|-|-|pypy
pypy-pp pypy-python-path pypy-pythonpath|list|-|-|pypy
wsgi-file file|str|-|-|python
eval|str|-|-|python
module wsgi|str|w|-|python
callable|str|-|-|python
test|str|J|-|python
home virtualenv venv pyhome|str|H|-|python
py-programname py-program-name|str|-|-|python
pythonpath|list|-|-|python
python-path|list|-|-|python
pp|list|-|-|python
pymodule-alias|list|-|-|python
post-pymodule-alias|list|-|-|python
import pyimport py-import python-import|list|-|-|python
shared-import shared-pyimport shared-py-import shared-python-import|list|-|-|python
spooler-import spooler-py-import|list|-|-|python
pyargv|str|-|-|python
optimize|int|O|-|python
pecan|str|-|-|python
paste|str|-|-|python
paste-logger|bool|-|-|python
paste-name|str|-|-|python
web3|str|-|-|python
pump|str|-|-|python
wsgi-lite|str|-|-|python
ini-paste|str|-|immediate|python
ini-paste-logged|str|-|immediate|python
reload-os-env|bool|-|-|python
no-site|bool|-|-|python
pyshell|str|-|-|python
pyshell-oneshot|str|-|-|python
python|str|-|-|python
py|str|-|-|python
pyrun|str|-|-|python
py-tracebacker|str|-|master,threads|python
py-auto-reload py-autoreload python-auto-reload python-autoreload|int|-|master,threads|python
py-auto-reload-ignore|list|-|master,threads|python
wsgi-env-behaviour wsgi-env-behavior|str|-|-|python
start_response-nodelay|bool|-|-|python
wsgi-strict|bool|-|-|python
wsgi-accept-buffer wsgi-accept-buffers|bool|-|-|python
wsgi-disable-file-wrapper|bool|-|-|python
python-version|bool|-|immediate|python
python-raw|str|-|-|python
py-sharedarea|list|-|-|python
py-call-osafterfork|bool|-|-|python
py-call-uwsgi-fork-hooks|bool|-|-|python
early-python|bool|-|immediate|python
early-pyimport|str|-|immediate|python
early-python-import|str|-|immediate|python
early-pythonpath|list|-|immediate|python
early-python-path|list|-|immediate|python
python-worker-override|str|-|-|python
wsgi-manage-chunked-input|bool|-|-|python
py-master-check-signals|bool|-|-|python
py-executable py-sys-executable|str|-|-|python
rails|str|-|post_buffering|rack
rack|str|-|post_buffering|rack
ruby-gc-freq rb-gc-freq|int|-|-|rack
rb-lib ruby-lib|list|-|-|rack
rb-require ruby-require rbrequire rubyrequire require|list|-|-|rack
shared-rb-require shared-ruby-require shared-rbrequire shared-rubyrequire shared-require|list|-|-|rack
gemset rvm|str|-|-|rack
rvm-path|list|-|-|rack
rbshell|str|-|-|rack
rbshell-oneshot|bool|-|-|rack
rados-mount|list|-|mime|rados
rados-timeout|int|-|-|rados
rawrouter|list|-|-|rawrouter
rawrouter-processes rawrouter-workers|int|-|-|rawrouter
rawrouter-zerg|list|-|-|rawrouter
rawrouter-use-cache|str|-|-|rawrouter
rawrouter-use-pattern|list|-|-|rawrouter
rawrouter-use-base|list|-|-|rawrouter
rawrouter-fallback|list|-|-|rawrouter
rawrouter-use-code-string|list|-|-|rawrouter
rawrouter-use-socket|list|-|-|rawrouter
rawrouter-to|list|-|-|rawrouter
rawrouter-gracetime|int|-|-|rawrouter
rawrouter-events|int|-|-|rawrouter
rawrouter-max-retries|int|-|-|rawrouter
rawrouter-quiet|bool|-|-|rawrouter
rawrouter-cheap|bool|-|-|rawrouter
rawrouter-subscription-server|list|-|-|rawrouter
rawrouter-subscription-slot|str|-|-|rawrouter
rawrouter-timeout|int|-|-|rawrouter
rawrouter-stats rawrouter-stats-server rawrouter-ss|str|-|-|rawrouter
rawrouter-harakiri|int|-|-|rawrouter
rawrouter-xclient|bool|-|-|rawrouter
rawrouter-buffer-size|int|-|-|rawrouter
rbthreads rb-threads rbthread rb-thread|bool|-|-|rbthreads
ring-load clojure-load|list|-|-|ring
ring-app|str|-|-|ring
rrdtool|list|-|master,metrics|rrdtool
rrdtool-freq|int|-|-|rrdtool
rrdtool-lib|str|-|-|rrdtool
rsyslog-packet-size|int|-|-|rsyslog
rsyslog-split-messages|bool|-|-|rsyslog
sqlite3|str|-|immediate|sqlite3
sqlite|str|-|immediate|sqlite3
sslrouter|list|-|-|sslrouter
sslrouter2|list|-|-|sslrouter
sslrouter-session-context|str|-|-|sslrouter
sslrouter-processes sslrouter-workers|int|-|-|sslrouter
sslrouter-zerg|list|-|-|sslrouter
sslrouter-use-cache|str|-|-|sslrouter
sslrouter-use-pattern|list|-|-|sslrouter
sslrouter-use-base|list|-|-|sslrouter
sslrouter-fallback|list|-|-|sslrouter
sslrouter-use-code-string|list|-|-|sslrouter
sslrouter-use-socket|list|-|-|sslrouter
sslrouter-to|list|-|-|sslrouter
sslrouter-gracetime|int|-|-|sslrouter
sslrouter-events|int|-|-|sslrouter
sslrouter-max-retries|int|-|-|sslrouter
sslrouter-quiet|bool|-|-|sslrouter
sslrouter-cheap|bool|-|-|sslrouter
sslrouter-subscription-server|list|-|-|sslrouter
sslrouter-timeout|int|-|-|sslrouter
sslrouter-stats sslrouter-stats-server sslrouter-ss|str|-|-|sslrouter
sslrouter-harakiri|int|-|-|sslrouter
sslrouter-sni|bool|-|-|sslrouter
sslrouter-buffer-size|int|-|-|sslrouter
stackless|bool|-|-|stackless
statsd-no-workers|bool|-|-|stats_pusher_statsd
statsd-all-gauges|bool|-|-|stats_pusher_statsd
symcall|list|-|-|symcall
symcall-use-next|bool|-|-|symcall
symcall-register-rpc|list|-|-|symcall
symcall-post-fork|list|-|-|symcall
tornado|str|-|threads|tornado
tuntap-router|list|-|-|tuntap
tuntap-device|list|-|-|tuntap
tuntap-use-credentials|str|-|-|tuntap
tuntap-router-firewall-in|str|-|-|tuntap
tuntap-router-firewall-out|str|-|-|tuntap
tuntap-router-route|list|-|-|tuntap
tuntap-router-stats|str|-|-|tuntap
tuntap-device-rule|list|-|-|tuntap
ugreen|bool|-|-|ugreen
ugreen-stacksize|int|-|-|ugreen
webdav-mount|list|-|mime|webdav
webdav-css|list|-|mime|webdav
webdav-javascript webdav-js|list|-|mime|webdav
webdav-class-directory|str|-|mime|webdav
webdav-div|str|-|mime|webdav
webdav-lock-cache|str|-|mime|webdav
webdav-principal-base|str|-|mime|webdav
webdav-add-option|list|-|mime|webdav
webdav-add-prop|list|-|mime|webdav
webdav-add-collection-prop|list|-|mime|webdav
webdav-add-object-prop|list|-|mime|webdav
webdav-add-prop-href|list|-|mime|webdav
webdav-add-collection-prop-href|list|-|mime|webdav
webdav-add-object-prop-href|list|-|mime|webdav
webdav-add-prop-comp|list|-|mime|webdav
webdav-add-collection-prop-comp|list|-|mime|webdav
webdav-add-object-prop-comp|list|-|mime|webdav
webdav-add-rtype-prop|list|-|mime|webdav
webdav-add-rtype-collection-prop|list|-|mime|webdav
webdav-add-rtype-object-prop|list|-|mime|webdav
webdav-skip-prop|list|-|mime|webdav
xslt-docroot|list|-|-|xslt
xslt-ext|list|-|-|xslt
xslt-var|list|-|-|xslt
xslt-stylesheet|list|-|-|xslt
xslt-content-type|str|-|-|xslt
zabbix-template|str|-|metrics|zabbix
zergpool zerg-pool|list|-|-|zergpool
"""

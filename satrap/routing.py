"""uWSGI internal routing (core/routing.c), the part real configs use, as one WSGI layer.

Two chains, each a table of rules kept in the order the config gave them (``route``,
``route-host``, ``route-if`` ... interleaved form one chain, as in uWSGI):

* the *request* chain (``route``, ``route-host``, ``route-uri``, ``route-qs``, ``route-remote-addr``,
  ``route-user-agent``, ``route-remote-user``, ``route-referer``, ``route-if``, ``route-if-not``,
  ``route-label``, ``route-run``) runs before the app;
* the *response* chain (the same names prefixed ``response-``, plus ``response-route-status``) runs
  when the app calls ``start_response``, with the response headers collected by ``collect-header``
  / ``pull-header`` as variables.

A rule is ``regexp action:args`` (the regexp is searched in the rule's subject: ``PATH_INFO`` for
``route``, ``HTTP_HOST`` for ``route-host`` ...), or ``cond:args action:args`` for ``route-if``.
In args, ``${VAR}`` is a request variable (``${REQUEST_URI}``, ``${HTTP_HOST}``, ``${qs[key]}``,
``${cookie[name]}``, ``${time[unix]}``; unknown = empty) and ``$0``..``$9`` the groups of the last
regexp match. Actions: ``continue``/``last`` (stop routing, run the app), ``break[:status]``,
``return:status``/``break-with-status:status``, ``redirect``/``redirect-302``,
``redirect-permanent``/``redirect-301``, ``rewrite`` (next rule), ``rewrite-last`` (stop routing),
``goto:label``, ``addheader``, ``delheader``/``remheader``, ``log``, ``addvar:KEY=VALUE``,
``setmethod``, ``seturi``, ``setpathinfo``, ``setscriptname``, ``setremoteaddr``, ``setuser``,
``setdocroot``, ``donotlog`` (accepted, no effect), ``sse``/``sseraw`` (uWSGI's sse_offload
plugin: the response becomes a redis pub/sub channel streamed as Server-Sent Events by the
worker's offload engine, see :class:`Offload` and docs/offload.md).

``add-header`` adds a header to every response, ``del-header`` removes one. The layer is built once;
a config with none of these options gets the app itself.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs

from satrap.log import log
from satrap.protocol.sse import Offload

WSGIApp = Callable[..., Any]

_SUBJECTS = {
    "": "PATH_INFO", "-host": "HTTP_HOST", "-uri": "REQUEST_URI", "-qs": "QUERY_STRING",
    "-remote-addr": "REMOTE_ADDR", "-user-agent": "HTTP_USER_AGENT", "-remote-user": "REMOTE_USER",
    "-referer": "HTTP_REFERER", "-status": ":status",
}
CHAINS = ("route", "response-route")
ROUTE_OPTIONS = tuple(
    [f"{c}{s}" for c in CHAINS for s in _SUBJECTS if not (c == "route" and s == "-status")]
    + [f"{c}{s}" for c in CHAINS for s in ("-if", "-if-not", "-label", "-run")]
)
HEADER_OPTIONS = ("add-header", "del-header", "collect-header", "pull-header")

# action outcomes
NEXT, CONTINUE, BREAK, GOTO = 0, 1, 2, 3

#: the ``set*`` actions: each overwrites one request variable with its (translated) argument
_SET_VARS = {
    "setmethod": "REQUEST_METHOD", "seturi": "REQUEST_URI", "setpathinfo": "PATH_INFO",
    "setscriptname": "SCRIPT_NAME", "setremoteaddr": "REMOTE_ADDR", "setuser": "REMOTE_USER",
    "setdocroot": "DOCUMENT_ROOT",
}


_REQUEST_ONLY = frozenset({"return", "break-with-status", "redirect", "redirect-302", "redirect-permanent",
                           "redirect-301", "rewrite", "rewrite-last", *_SET_VARS})
#: actions that hand the client connection to the worker's offload engine (sse_offload plugin)
_OFFLOAD_ACTIONS = frozenset({"sse", "sseraw"})
ACTIONS = frozenset({"continue", "last", "break", "goto", "addheader", "delheader", "remheader", "log",
                     "addvar", "donotlog"}) | _REQUEST_ONLY | _OFFLOAD_ACTIONS


class RouteError(ValueError):
    """A rule satrap cannot run; the message names the option and the part at fault."""


_SSE_KEYS = ("server", "subscribe", "password", "buffer_size")
_SSE_HEAD = [("Content-Type", "text/event-stream"), ("Cache-Control", "no-cache")]


def offload_task(action: str, arg: str) -> Offload | None:
    """The sse action's argument (a channel name, or ``server=,subscribe=,password=,buffer_size=``)
    as an :class:`Offload`; None (logged) when it names no channel. An empty ``server`` means
    redis's default address, so a config that pulls ``${SSE_SERVER}`` from an app that sends no
    such header still works."""
    params = dict.fromkeys(_SSE_KEYS, "")
    if "=" in arg:
        for item in arg.split(","):
            key, _, value = item.partition("=")
            key = key.strip()
            if key in params:
                params[key] = value.strip()
            elif key:
                log(f"[sse_offload] ignoring unknown key {key!r} in {action}:{arg}")
    else:
        params["subscribe"] = arg.strip()
    if not params["subscribe"]:
        log(f"[sse_offload] unable to use \"{action}\" engine without a pubsub channel")
        return None
    size = _num(params["buffer_size"]) if params["buffer_size"] else 4096
    return Offload(action, params["server"] or "127.0.0.1:6379", params["subscribe"], params["password"],
                   min(max(size, 512), 1 << 20))


@dataclass
class Rule:
    option: str
    subject: str | None  # environ key, ":status", or None (route-if / label / run)
    pattern: re.Pattern[str] | None
    cond: tuple[str, str, bool] | None  # (name, args, negate)
    action: str
    arg: str
    label: str | None = None


@dataclass
class _State:
    environ: dict[str, Any]
    add: list[tuple[str, str]] = field(default_factory=list)
    delete: set[str] = field(default_factory=set)
    vars: dict[str, str] = field(default_factory=dict)
    groups: tuple[str, ...] = ()
    status: str = ""
    offload: Offload | None = None  # set by sse/sseraw in the response chain


# -- parsing ------------------------------------------------------------------------------------
def _chain_of(option: str) -> tuple[str, str]:
    for chain in ("response-route", "route"):
        if option == chain or option.startswith(chain + "-"):
            return chain, option[len(chain):]
    raise RouteError(f"{option}: not a routing option")


def parse_rule(option: str, value: str) -> Rule:
    """One ``route*`` value -> :class:`Rule`; raises RouteError for what satrap cannot run."""
    chain, kind = _chain_of(option)
    value = value.strip()
    if kind == "-label":
        return Rule(option, None, None, None, "", "", label=value)
    if kind == "-run":
        spec = value
        rule = Rule(option, None, None, None, "", "")
    elif kind in ("-if", "-if-not"):
        cond, _, spec = value.partition(" ")
        name, colon, args = cond.partition(":")
        if not colon or not spec.strip():
            raise RouteError(f"{option} = {value}: expected 'condition:args action:args'")
        if name not in _CONDITIONS:
            raise RouteError(f"{option} = {value}: the route condition '{name}' is not supported by satrap "
                             f"(it has {', '.join(sorted(_CONDITIONS))})")
        rule = Rule(option, None, None, (name, args, kind == "-if-not"), "", "")
    elif kind in _SUBJECTS:
        if kind == "-status" and chain != "response-route":
            raise RouteError(f"{option}: not a routing option")
        regexp, _, spec = value.partition(" ")
        if not spec.strip():
            raise RouteError(f"{option} = {value}: expected 'regexp action:args'")
        try:
            pattern = re.compile(regexp)
        except re.error as exc:
            raise RouteError(f"{option} = {value}: bad regexp {regexp!r} ({exc})") from None
        rule = Rule(option, _SUBJECTS[kind], pattern, None, "", "")
    else:
        raise RouteError(f"{option}: this routing chain is not supported by satrap")
    action, _, arg = spec.strip().partition(":")
    action = action.strip()
    if action not in ACTIONS:
        raise RouteError(f"{option} = {value}: the routing action '{action}' is not supported by satrap")
    if chain == "response-route" and action in _REQUEST_ONLY:
        raise RouteError(f"{option} = {value}: '{action}' is only supported in the request chain (route*)")
    if action in ("addheader",) and ":" not in arg:
        raise RouteError(f"{option} = {value}: addheader needs 'Name: value'")
    rule.action, rule.arg = action, arg
    return rule


def _opt(cfg: Any, name: str) -> list[str]:
    try:
        return [v for v in (cfg.get(name) or []) if v is not None]
    except AttributeError:
        return []


def build_chain(items: Iterable[tuple[str, str]]) -> list[Rule]:
    rules = [parse_rule(option, value) for option, value in items]
    labels = {r.label for r in rules if r.label is not None}
    for r in rules:
        if r.action == "goto" and r.arg.strip() not in labels:
            raise RouteError(f"{r.option}: goto:{r.arg.strip()}: no {r.option.split('-if')[0]}-label "
                             f"named {r.arg.strip()!r}")
    return rules


def check(cfg: Any) -> list[str]:
    """Every problem with the routing options, one line each (for the config loader)."""
    problems: list[str] = []
    for option in ROUTE_OPTIONS:
        for value in _opt(cfg, option):
            try:
                parse_rule(option, value)
            except RouteError as exc:
                problems.append(str(exc))
    for option in ("collect-header", "pull-header"):
        for value in _opt(cfg, option):
            if len(value.split()) != 2:
                problems.append(f"{option} = {value}: expected 'Header-Name VAR'")
    for value in _opt(cfg, "add-header"):
        if ":" not in value:
            problems.append(f"add-header = {value}: expected 'Name: value'")
    return problems


# -- variables ------------------------------------------------------------------------------------
_VAR = re.compile(r"\$\{([^}]*)\}|\$([0-9])")


def _lookup(name: str, st: _State) -> str:
    env = st.environ
    if "[" in name and name.endswith("]"):
        kind, _, key = name[:-1].partition("[")
        if kind == "qs":
            vals = parse_qs(env.get("QUERY_STRING", ""), keep_blank_values=True).get(key)
            return vals[0] if vals else ""
        if kind == "cookie":
            from http.cookies import SimpleCookie  # only for routes that read cookies

            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(env.get("HTTP_COOKIE", ""))
            except Exception:  # noqa: BLE001 -- a bad cookie header is just no cookie
                return ""
            return jar[key].value if key in jar else ""
        if kind == "time" and key == "unix":
            return str(int(time.time()))
        if kind == "env":
            return os.environ.get(key, "")
        return ""
    if name in st.vars:
        return st.vars[name]
    value = env.get(name)
    return value if isinstance(value, str) else ""


def translate(text: str, st: _State) -> str:
    if "$" not in text:
        return text

    def repl(m: re.Match[str]) -> str:
        if m.group(1) is not None:
            return _lookup(m.group(1), st)
        n = int(m.group(2))
        return st.groups[n] if n < len(st.groups) and st.groups[n] is not None else ""

    return _VAR.sub(repl, text)


# -- conditions -----------------------------------------------------------------------------------
def _two(args: str, st: _State) -> tuple[str, str]:
    a, _, b = args.partition(";")
    return translate(a, st), translate(b, st)


def _num(text: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        return 0


def _c_regexp(args: str, st: _State) -> bool:
    a, b = _two(args, st)
    try:
        m = re.search(b, a)
    except re.error:
        return False
    if m:
        st.groups = (m.group(0), *m.groups())
    return m is not None


def _pair(test: Callable[[str, str], bool]) -> Callable[[str, _State], bool]:
    """A two-operand condition (``a;b``, both translated)."""

    def cond(args: str, st: _State) -> bool:
        return test(*_two(args, st))

    return cond


_CONDITIONS: dict[str, Callable[[str, _State], bool]] = {}
for _names, _fn in (
    (("equal", "isequal", "eq", "=="), _pair(lambda x, y: x == y)),
    (("startswith", "starts_with"), _pair(lambda x, y: x.startswith(y))),
    (("endswith", "ends_with"), _pair(lambda x, y: x.endswith(y))),
    (("contains", "contain"), _pair(lambda x, y: y in x)),
    (("regexp", "re"), _c_regexp),
    (("ishigher", ">"), _pair(lambda x, y: _num(x) > _num(y))),
    (("islower", "<"), _pair(lambda x, y: _num(x) < _num(y))),
    (("ishigherequal", ">="), _pair(lambda x, y: _num(x) >= _num(y))),
    (("islowerequal", "<="), _pair(lambda x, y: _num(x) <= _num(y))),
    (("empty",), lambda a, st: translate(a, st) == ""),
    (("isfile",), lambda a, st: os.path.isfile(translate(a, st))),
    (("isdir",), lambda a, st: os.path.isdir(translate(a, st))),
    (("islink",), lambda a, st: os.path.islink(translate(a, st))),
    (("exists", "isexists"), lambda a, st: os.path.exists(translate(a, st))),
    (("isexec",), lambda a, st: os.access(translate(a, st), os.X_OK)),
    (("isnum",), lambda a, st: translate(a, st).strip().lstrip("-").isdigit()),
):
    for _n in _names:
        _CONDITIONS[_n] = _fn


# -- running a chain ------------------------------------------------------------------------------
class _Reply(Exception):
    """A routing action answered the request itself."""

    def __init__(self, status: str, headers: list[tuple[str, str]], body: bytes | Offload) -> None:
        super().__init__(status)
        self.status, self.headers, self.body = status, headers, body


def _status_line(arg: str) -> str | None:
    arg = arg.strip()
    if len(arg) < 3 or not arg[:3].isdigit():
        return None
    if len(arg) > 3:
        return arg
    try:
        return f"{arg} {HTTPStatus(int(arg)).phrase}"
    except ValueError:
        return f"{arg} Unknown"


def _set_uri(env: dict[str, Any], uri: str) -> None:
    path, q, qs = uri.partition("?")
    from urllib.parse import unquote

    env["PATH_INFO"] = unquote(path, encoding="latin-1")
    if q:
        env["QUERY_STRING"] = qs
    env["REQUEST_URI"] = uri


def _act(rule: Rule, st: _State) -> int:
    action, env = rule.action, st.environ
    arg = translate(rule.arg, st)
    if action in ("continue", "last"):
        return CONTINUE
    if action == "break":
        status = _status_line(arg) or "500 Internal Server Error"
        raise _Reply(status, [("Content-Length", "0"), ("Connection", "close")], b"")
    if action in ("return", "break-with-status"):
        line = _status_line(arg)
        if line is None:
            raise _Reply("500 Internal Server Error", [("Content-Length", "0")], b"")
        body = line[4:].encode("latin-1", "replace")
        raise _Reply(line, [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))], body)
    if action in ("redirect", "redirect-302", "redirect-permanent", "redirect-301"):
        status = "302 Found" if action in ("redirect", "redirect-302") else "301 Moved Permanently"
        raise _Reply(status, [("Location", arg), ("Content-Length", "0")], b"")
    if action in ("rewrite", "rewrite-last"):
        _set_uri(env, arg)
        return CONTINUE if action == "rewrite-last" else NEXT
    if action == "goto":
        return GOTO
    if action in _OFFLOAD_ACTIONS:
        task = offload_task(action, arg)
        if rule.option.startswith("response-"):
            st.offload = task  # the Router hands it on once the app returned
            return CONTINUE
        if task is None:
            raise _Reply("500 Internal Server Error", [("Content-Length", "0")], b"")
        raise _Reply("200 OK", list(_SSE_HEAD), task)
    if action == "addheader":
        name, _, value = arg.partition(":")
        st.add.append((name.strip(), value.strip()))
    elif action in ("delheader", "remheader"):
        st.delete.add(arg.strip().lower())
    elif action == "log":
        log(arg)
    elif action == "addvar":
        key, _, value = arg.partition("=")
        env[key] = value
    elif action in _SET_VARS:
        env[_SET_VARS[action]] = arg
    return NEXT


def run_chain(rules: list[Rule], labels: dict[str, int], st: _State) -> None:
    """Run a chain to its end, a ``continue``/``last``, or a reply (raised as _Reply)."""
    i = 0
    hops = 0
    while i < len(rules):
        rule = rules[i]
        i += 1
        if rule.label is not None:
            continue
        if rule.pattern is not None:
            subject = st.status if rule.subject == ":status" else st.environ.get(rule.subject or "", "")
            m = rule.pattern.search(subject if isinstance(subject, str) else "")
            if m is None:
                continue
            st.groups = (m.group(0), *m.groups())
        elif rule.cond is not None:
            name, args, negate = rule.cond
            if _CONDITIONS[name](args, st) == negate:
                continue
        outcome = _act(rule, st)
        if outcome == CONTINUE:
            return
        if outcome == GOTO:
            hops += 1
            if hops > 100:
                log(f"routing: more than 100 goto jumps ({rule.option} = goto:{rule.arg}): stopping the chain")
                return
            i = labels[translate(rule.arg, st).strip()] + 1


class Router:
    """The WSGI layer: request chain, then the app with a start_response that applies the
    response chain and the header options."""

    def __init__(self, app: WSGIApp, request: list[Rule], response: list[Rule],
                 add: list[tuple[str, str]], delete: set[str], collect: list[tuple[str, str, bool]]) -> None:
        self.app = app
        self.request = request
        self.response = response
        self.req_labels = {r.label: n for n, r in enumerate(request) if r.label is not None}
        self.resp_labels = {r.label: n for n, r in enumerate(response) if r.label is not None}
        self.add = add
        self.delete = delete
        self.collect = collect
        self.offloads = any(r.action in _OFFLOAD_ACTIONS for r in response)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        st = _State(environ)
        if self.request:
            try:
                run_chain(self.request, self.req_labels, st)
            except _Reply as reply:
                self._finish(reply.status, reply.headers, st, start_response, None, response_chain=False)
                if type(reply.body) is Offload:
                    return reply.body
                return [] if environ.get("REQUEST_METHOD") == "HEAD" else [reply.body]

        def routed_start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            return self._finish(status, headers, st, start_response, exc_info, response_chain=True)

        if not self.offloads:
            return self.app(environ, routed_start_response)
        body = self.app(environ, routed_start_response)
        if st.offload is None and not st.status and type(body) is not list:
            body = _FirstChunk(body)  # a lazy app: run it to start_response (and the chain)
        if st.offload is None:
            return body
        close = getattr(body, "close", None)
        if close is not None:
            close()
        return st.offload

    def _finish(self, status: str, headers: list[tuple[str, str]], st: _State, start_response: Callable[..., Any],
                exc_info: Any, response_chain: bool) -> Any:
        headers = list(headers)
        if self.collect:
            pulled: set[str] = set()
            for name, var, pull in self.collect:
                for h, v in headers:
                    if h.lower() == name:
                        st.vars[var] = v
                        break
                if pull:
                    pulled.add(name)
            if pulled:
                headers = [(h, v) for h, v in headers if h.lower() not in pulled]
        if response_chain and self.response:
            st.status = status[:3]
            st.groups = ()
            try:
                run_chain(self.response, self.resp_labels, st)
            except _Reply:  # parse_rule keeps replies out of the response chain
                pass
        headers.extend(self.add)
        delete = self.delete | st.delete
        if delete:
            headers = [(h, v) for h, v in headers if h.lower() not in delete]
        headers.extend(st.add)
        if exc_info is not None:
            return start_response(status, headers, exc_info)
        return start_response(status, headers)


class _FirstChunk:
    """A lazy (generator) app's body advanced to its first non-empty chunk, so that its
    ``start_response`` and with it the response chain have run before the body is handed on:
    only then is it known whether an ``sse`` rule takes the response over."""

    def __init__(self, body: Iterable[bytes]) -> None:
        self._body = body
        self._it = iter(body)
        self._first: list[bytes] = []
        try:
            for chunk in self._it:
                if chunk:
                    self._first.append(chunk)
                    break
        except BaseException:
            self.close()
            raise

    def __iter__(self) -> Any:
        yield from self._first
        yield from self._it

    def close(self) -> None:
        close = getattr(self._body, "close", None)
        if close is not None:
            close()


def routing_layer(cfg: Any, app: WSGIApp) -> WSGIApp:
    """The app wrapped in the routing layer, or the app itself when no routing option is set."""
    names = ROUTE_OPTIONS + HEADER_OPTIONS
    if not any(_opt(cfg, n) for n in names):
        return app
    ordered = cfg.ordered(ROUTE_OPTIONS) if hasattr(cfg, "ordered") else [
        (n, v) for n in ROUTE_OPTIONS for v in _opt(cfg, n)]
    request = build_chain((n, v) for n, v in ordered if not n.startswith("response-"))
    response = build_chain((n, v) for n, v in ordered if n.startswith("response-"))
    add = []
    for value in _opt(cfg, "add-header"):
        name, _, val = value.partition(":")
        add.append((name.strip(), val.strip()))
    delete = {v.strip().lower() for v in _opt(cfg, "del-header")}
    collect = [(v.split()[0].lower(), v.split()[1], False) for v in _opt(cfg, "collect-header")]
    collect += [(v.split()[0].lower(), v.split()[1], True) for v in _opt(cfg, "pull-header")]
    return Router(app, request, response, add, delete, collect)

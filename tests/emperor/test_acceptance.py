"""Issue 6's acceptance list, end to end: real ``satrap`` Emperors (run as seed 000 runs uWSGI's),
real satrap vassals, a real nginx in front with server blocks written by ``satrap nginx``.

Seed 000's layout: ``emperor.ini`` (``emperor = DIR``, ``vassal-set = thunder-lock=true``), one
Flask vassal file per app (``module``/``callable = app``/``socket = RUN/app.sock``/``chmod-socket =
666``/``master``/``processes = 2``/``vacuum``), one nginx choosing the app by ``Host``.

On-demand vassals speak ``protocol = http`` on the Emperor's unix socket (so a plain HTTP client
measures the cold start without nginx's own latency in the number); one request per test goes
through nginx too (``proxy_pass http://unix:...``, written by ``satrap nginx``).

Measurements are printed (``pytest -s`` shows them) and appended to
``$SATRAP_ACCEPT_REPORT`` when set. The churn test runs for the 60 s the acceptance asks for.
"""

from __future__ import annotations

import os
import random
import re
import signal
from collections.abc import Callable, Iterator

import pytest

from accept_support import (
    ClientLoop,
    Seed000,
    answer,
    cpu_seconds,
    get,
    median,
    monotonic,
    new_seed000,
    nginx_servers,
    reload_nginx,
    rss_kb,
    satrap_nginx,
    touch,
    tree,
    wait_answer,
    wait_gone,
    write_file,
)
from nginxrun import NginxRun, require_nginx
from support import Satrap, children_of, proc_title, wait_until

ALPHA_HOST = "alpha.example.test"  # alpha's vassal file says `domain = alpha.example.test`
BETA_HOST = "beta"  # beta's has no such key: its server_name is its file name


def report(line: str) -> None:
    print(line)
    path = os.environ.get("SATRAP_ACCEPT_REPORT")
    if path:
        with open(path, "a") as f:
            f.write(line + "\n")


# -- fixtures ------------------------------------------------------------------------------------------
@pytest.fixture
def seed() -> Iterator[Seed000]:
    require_nginx()
    s = new_seed000()
    yield s
    s.cleanup()


@pytest.fixture
def nginx() -> Iterator[Callable[[str], NginxRun]]:
    started: list[NginxRun] = []

    def start(servers: str) -> NginxRun:
        nr = NginxRun(servers)
        started.append(nr)
        return nr.start()

    yield start
    for nr in started:
        nr.stop()


class Deployment:
    """Seed 000 running: the Emperor, two Flask vassals (alpha, beta), nginx in front."""

    def __init__(self, seed: Seed000, emp: Satrap, nr: NginxRun) -> None:
        self.seed, self.emp, self.nginx = seed, emp, nr
        self.port = nr.port

    def masters(self) -> list[int]:
        kids = children_of(self.emp.pid)
        self.emp.seen_pids.update(kids)
        for kid in kids:
            self.emp.seen_pids.update(tree(kid))
        return kids


def start_seed000(seed: Seed000, satrap: Callable[..., Satrap], nginx: Callable[[str], NginxRun],
                  how: tuple[str, ...] = ("--ini",)) -> Deployment:
    seed.write("alpha", seed.flask_ini("alpha", extra="domain = alpha.example.test\n"))
    seed.write("beta", seed.flask_ini("beta"))
    servers = nginx_servers(seed)
    assert "server_name alpha.example.test;" in servers and "server_name beta;" in servers
    assert f"uwsgi_pass unix:{seed.sock('alpha')};" in servers
    emp = satrap(*how, str(seed.emperor_ini), cwd=seed.root)
    nr = nginx(servers)  # nginx -t passed (NginxRun.start checks it)
    dep = Deployment(seed, emp, nr)
    wait_answer(dep.port, ALPHA_HOST, name="alpha")
    wait_answer(dep.port, BETA_HOST, name="beta")
    emp.wait_log(r"vassal alpha\.ini is now loyal")
    emp.wait_log(r"vassal beta\.ini is now loyal")
    assert len(dep.masters()) == 2
    return dep


@pytest.fixture
def deployment(seed: Seed000, satrap: Callable[..., Satrap],
               nginx: Callable[[str], NginxRun]) -> Deployment:
    return start_seed000(seed, satrap, nginx)


# -- 1. seed 000: two Flask vassals behind one nginx ------------------------------------------------------
@pytest.mark.parametrize("how", [(), ("--ini",)], ids=["satrap-emperor.ini", "satrap--ini-emperor.ini"])
def test_seed000_two_flask_vassals_behind_nginx(seed: Seed000, satrap: Callable[..., Satrap],
                                                nginx: Callable[[str], NginxRun],
                                                how: tuple[str, ...]) -> None:
    dep = start_seed000(seed, satrap, nginx, how)
    a = answer(dep.port, ALPHA_HOST)
    b = answer(dep.port, BETA_HOST)
    assert a is not None and a.name == "alpha" and a.greeting == "hello"
    assert b is not None and b.name == "beta"
    masters = set(dep.masters())
    assert {a.master, b.master} == masters  # one satrap master per vassal file, children of the Emperor
    for master in masters:
        assert len(children_of(master)) == 2  # processes = 2
    # vassal-set reached every vassal: thunder-lock is in each vassal's command line
    for master in masters:
        with open(f"/proc/{master}/cmdline", "rb") as f:
            argv = f.read().split(b"\0")
        assert b"thunder-lock=true" in argv, argv
    # the socket is the vassal's own, mode 666 as the file says
    for name in ("alpha", "beta"):
        assert os.stat(seed.sock(name)).st_mode & 0o777 == 0o666
    # an unknown Host falls to nginx's first server: it is not the other app answering by accident
    assert get(dep.port, ALPHA_HOST)[1].startswith("alpha ")
    assert get(dep.port, BETA_HOST)[1].startswith("beta ")


# -- 2. kill -9 a vassal master ----------------------------------------------------------------------------
def test_kill_9_vassal_master_respawns_within_2s_other_never_fails(deployment: Deployment) -> None:
    dep = deployment
    old = answer(dep.port, ALPHA_HOST)
    assert old is not None
    old_workers = set(children_of(old.master))
    with ClientLoop(dep.port, BETA_HOST, "beta") as loop:
        t0 = monotonic()
        os.kill(old.master, signal.SIGKILL)
        new = wait_answer(dep.port, ALPHA_HOST, timeout=5, name="alpha",
                          master_not=(old.master, dep.emp.pid))
        took = monotonic() - t0
        loop.settle()
    report(f"[accept] kill -9 alpha's master -> alpha serving again through nginx in {took * 1000:.0f} ms "
           f"(beta: {loop.ok} requests, {len(loop.failures)} failures meanwhile)")
    assert took < 2.0, dep.emp.log()[-3000:]
    assert loop.failures == [], loop.failures[:5]
    assert len(loop.masters) == 1  # beta was never touched
    assert new.master in dep.masters()
    wait_gone(old_workers | {old.master}, 5)  # the dead master's workers were not left behind
    dep.emp.wait_log(r"vassal alpha\.ini \(pid \d+\) died \(killed by signal 9 \(SIGKILL\)\)")


# -- 3. touch, edit, delete, add ---------------------------------------------------------------------------
def test_touch_edit_delete_add(deployment: Deployment) -> None:
    dep, seed = deployment, deployment.seed
    first = answer(dep.port, BETA_HOST)
    assert first is not None
    old_workers = set(children_of(first.master))
    assert len(old_workers) == 2
    # touch: graceful reload, new workers, same master, and not one failed request meanwhile
    with ClientLoop(dep.port, BETA_HOST, "beta") as loop:
        t0 = monotonic()
        touch(seed.path("beta"))
        wait_until(lambda: len(k := set(children_of(first.master))) == 2 and not (k & old_workers), 10,
                   message="beta's two new workers")
        took = monotonic() - t0
        wait_until(lambda: loop.workers - old_workers, 10, message="an answer from a new worker")
        loop.settle(20)
    report(f"[accept] touch beta.ini -> two new workers in {took * 1000:.0f} ms; client loop: "
           f"{loop.ok} requests, {len(loop.failures)} failures")
    assert loop.failures == [], loop.failures[:5]
    assert loop.masters == {first.master}
    # edit: the env value the app prints changes
    with ClientLoop(dep.port, ALPHA_HOST, "alpha") as loop:
        seed.write("beta", seed.flask_ini("beta", greeting="bonjour"))
        got = wait_answer(dep.port, BETA_HOST, timeout=10, greeting="bonjour")
        loop.settle()
    assert got.master == first.master
    assert loop.failures == [] and len(loop.masters) == 1  # alpha unaffected
    # delete: beta's master and workers are gone, its socket removed (vacuum), nginx answers 502
    beta_pids = {got.master, *children_of(got.master)}
    seed.path("beta").unlink()
    wait_gone(beta_pids, 10)
    dep.emp.wait_log(r"vassal beta\.ini \(pid \d+\) stopped \(exit status 0\)")
    assert get(dep.port, BETA_HOST)[0] == 502
    wait_until(lambda: not os.path.exists(seed.sock("beta")), 5, message="beta's socket removed")
    assert answer(dep.port, ALPHA_HOST) is not None
    # add: a new file is a new vassal; regenerate nginx's server blocks for it and reload nginx
    seed.write("gamma", seed.flask_ini("gamma", extra="server-name = gamma.example.test\n"))
    servers = nginx_servers(seed)
    assert "server_name gamma.example.test;" in servers and "server_name beta;" not in servers
    reload_nginx(dep.nginx, servers)
    g = wait_answer(dep.port, "gamma.example.test", timeout=15, name="gamma")
    assert g.master in dep.masters() and len(dep.masters()) == 2
    assert "NO MERCY" not in dep.emp.log()


# -- 4. a broken vassal file --------------------------------------------------------------------------------
def test_broken_vassal_logged_once_others_unaffected_then_fixed(deployment: Deployment) -> None:
    dep, seed = deployment, deployment.seed
    masters = set(dep.masters())
    with ClientLoop(dep.port, ALPHA_HOST, "alpha") as loop:
        seed.write("delta", seed.flask_ini("delta", extra="processes = two\n"))
        lines = dep.emp.wait_log(r"[^\n]*delta\.ini[^\n]*is broken[^\n]*")
        loop.settle(10)
    assert len(lines) == 1 and "delta.ini" in lines[0], lines
    assert loop.failures == [] and len(loop.masters) == 1
    assert set(dep.masters()) == masters  # nothing respawns: no crash loop, nobody else touched
    assert not os.path.exists(seed.sock("delta"))
    # the vassal's own error says what is wrong
    assert re.search(r"processes[^\n]*two", dep.emp.log()), dep.emp.log()[-3000:]
    seed.write("delta", seed.flask_ini("delta"))
    servers = nginx_servers(seed)
    reload_nginx(dep.nginx, servers)
    wait_answer(dep.port, "delta", timeout=15, name="delta")
    assert len(dep.masters()) == 3 and masters <= set(dep.masters())
    assert dep.emp.log().count("is broken") == 1


# -- 7. SIGHUP reloads every vassal; shutdown leaves nothing behind -----------------------------------------
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGQUIT, signal.SIGTERM],
                         ids=["SIGINT", "SIGQUIT", "SIGTERM"])
def test_sighup_reloads_all_and_shutdown_leaves_nothing(seed: Seed000, satrap: Callable[..., Satrap],
                                                        nginx: Callable[[str], NginxRun], sig: int) -> None:
    dep = start_seed000(seed, satrap, nginx)
    masters = set(dep.masters())
    if sig == signal.SIGTERM:  # once is enough: SIGHUP
        old = {m: set(children_of(m)) for m in masters}
        dep.emp.signal(signal.SIGHUP)
        for m in masters:
            wait_until(lambda m=m: len(k := set(children_of(m))) == 2 and not (k & old[m]), 10,
                       message=f"new workers of vassal master {m}")
        assert set(dep.masters()) == masters
        assert {wait_answer(dep.port, h).master for h in (ALPHA_HOST, BETA_HOST)} == masters
    everything = {p for m in dep.masters() for p in (m, *tree(m))}
    assert len(everything) == 6  # two masters, four workers
    dep.emp.signal(sig)
    assert dep.emp.wait_exit(20) == 0
    wait_gone(everything | {dep.emp.pid}, 5)
    log = dep.emp.log()
    assert "The Emperor is buried." in log and "NO MERCY" not in log
    for name in ("alpha", "beta"):
        assert not os.path.exists(seed.sock(name))  # vacuum ran: they stopped gracefully


# -- 5. fifty on-demand vassals: scale to zero --------------------------------------------------------------
N_ON_DEMAND = 50


def on_demand_ini(seed: Seed000, name: str, module: str = "tinyapp", extra: str = "") -> str:
    return ("[uwsgi]\n"
            f"chdir = {seed.apps}\n"
            f"module = {module}\n"
            "protocol = http\n"
            "processes = 1\n"
            "idle = 2\n"
            "die-on-idle = true\n"
            f"env = APP_NAME={name}\n"
            f"{extra}")


def unix_get(path: str, timeout: float = 15.0) -> str:
    """One HTTP/1.0 GET over a unix socket; the body (raises when there is no HTTP answer)."""
    import socket as socket_mod

    with socket_mod.socket(socket_mod.AF_UNIX, socket_mod.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(path)
        s.sendall(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n")
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.") and b" 200 " in head.split(b"\r\n")[0], head
    return body.decode()


def test_fifty_on_demand_vassals_scale_to_zero(seed: Seed000, satrap: Callable[..., Satrap],
                                               nginx: Callable[[str], NginxRun]) -> None:
    names = [f"v{i:02d}" for i in range(N_ON_DEMAND)]
    for name in names:
        seed.write(name, on_demand_ini(seed, name))
    seed.write("flask", on_demand_ini(seed, "flask", module="flaskapp", extra="callable = app\n"))
    sockets = seed.run
    emp = satrap("--emperor", str(seed.vassals), "--emperor-on-demand-directory", str(sockets),
                 "--emperor-throttle", "100", "--chmod-socket", "666", cwd=seed.root)
    emp.wait_log(r"vassal flask\.ini is on demand")
    emp.wait_log(r"is on demand: waiting on", count=N_ON_DEMAND + 1)
    sock = {name: str(sockets / f"{name}.socket") for name in [*names, "flask"]}
    assert all(os.stat(p).st_mode & 0o777 == 0o666 for p in sock.values())  # nginx's workers connect
    assert children_of(emp.pid) == []  # at rest: not one vassal process
    # nginx in front, its 51 server blocks written by satrap nginx (proxy_pass to the Emperor's sockets)
    servers = satrap_nginx("--emperor", str(seed.vassals), "--emperor-on-demand-directory",
                           str(sockets), "--nginx-listen", "127.0.0.1:@PORT@")
    assert servers.count("server {") == N_ON_DEMAND + 1
    nr = nginx(servers)

    rng = random.Random(os.environ.get("SATRAP_TEST_SEED", "6"))
    picks = rng.sample(names, 8)
    via_nginx = picks.pop()
    colds = []
    for name in picks:
        t0 = monotonic()
        body = unix_get(sock[name])
        colds.append(monotonic() - t0)
        assert body.startswith(name + " ")
    t0 = monotonic()
    status, body = get(nr.port, via_nginx, timeout=15)
    nginx_cold = monotonic() - t0
    assert status == 200 and body.startswith(via_nginx + " "), (status, body)
    t0 = monotonic()
    flask_body = unix_get(sock["flask"])
    flask_cold = monotonic() - t0
    assert flask_body.startswith("flask -")
    running = children_of(emp.pid)
    emp.seen_pids.update(running)
    assert len(running) <= len(picks) + 2  # only the vassals that were asked for (some may be idle already)
    warm = []
    for name in picks[:3]:
        t0 = monotonic()
        unix_get(sock[name])
        warm.append(monotonic() - t0)
    # after idle = 2 s with no request, every one of them says goodbye and exits
    emp.wait_log(r"went idle: back to waiting for a connection", count=len(picks) + 2, timeout=10)
    wait_until(lambda: children_of(emp.pid) == [], 5, message="no vassal process left after idle")
    wait_gone(set(running), 5)
    # and wakes again on the next request
    t0 = monotonic()
    assert unix_get(sock[picks[0]]).startswith(picks[0] + " ")
    again = monotonic() - t0
    report(f"[accept] on-demand cold start (tiny WSGI, protocol=http, {len(picks)} of "
           f"{N_ON_DEMAND} chosen at random): median {median(colds) * 1000:.0f} ms, "
           f"max {max(colds) * 1000:.0f} ms; through nginx {nginx_cold * 1000:.0f} ms; "
           f"after sleeping again {again * 1000:.0f} ms; warm {median(warm) * 1000:.1f} ms")
    report(f"[accept] on-demand cold start (Flask vassal): {flask_cold * 1000:.0f} ms")
    assert max(colds) < 2.0 and flask_cold < 3.0
    emp.seen_pids.update(children_of(emp.pid))


# -- 6. churn: the Emperor's own memory and CPU stay flat ---------------------------------------------------
CHURN_SECONDS = 60.0  # the acceptance asks for a 60 s churn; the suite can afford it


def test_churn_emperor_memory_and_cpu_stay_flat(seed: Seed000, satrap: Callable[..., Satrap]) -> None:
    """Files added, touched and removed in a loop for CHURN_SECONDS (60 s):
    each cycle adds ``cN``, touches ``cN-1`` and removes ``cN-2`` (so two or three real vassals
    run at any time), and waits until the Emperor has seen ``cN`` accept before the next cycle
    (``cN-1``'s reload and ``cN-2``'s stop overlap it)."""
    def ini(i: int) -> str:
        return (f"[uwsgi]\nchdir = {seed.apps}\nmodule = tinyapp\n"
                f"http-socket = {seed.run / f'c{i}.sock'}\nprocesses = 1\nvacuum = true\n"
                f"env = APP_NAME=c{i}\n")

    # reload-mercy 5: a vassal whose stop is lost (see the report: a worker SIGHUPed while it is
    # still starting ignores it) is SIGKILLed by the Emperor after 5 s instead of 30 s
    emp = satrap("--emperor", str(seed.vassals), "--emperor-throttle", "100", "--reload-mercy", "5",
                 cwd=seed.root)
    emp.wait_log("watching")
    ops = 0
    i = 0
    base_rss = base_cpu = 0.0
    base_ops = 0
    t_start = monotonic()
    t_base = 0.0
    while monotonic() - t_start < CHURN_SECONDS:
        write_file(seed.path(f"c{i}"), ini(i))
        ops += 1
        if i >= 1 and seed.path(f"c{i - 1}").exists():
            touch(seed.path(f"c{i - 1}"))
            ops += 1
        if i >= 2:
            seed.path(f"c{i - 2}").unlink()
            ops += 1
        wait_until(lambda line=f"vassal c{i}.ini is ready to accept requests": line in emp.log(), 10,
                   message=f"vassal c{i} accepting")
        emp.seen_pids.update(p for k in children_of(emp.pid) for p in (k, *tree(k)))
        i += 1
        if not t_base and monotonic() - t_start >= min(5.0, CHURN_SECONDS / 4):
            # warmed up: imports done, allocator pools filled
            base_rss, base_cpu, base_ops, t_base = rss_kb(emp.pid), cpu_seconds(emp.pid), ops, monotonic()
    for j in range(i - 2, i):
        seed.path(f"c{j}").unlink()
    try:
        wait_until(lambda: children_of(emp.pid) == [], 15, message="every churn vassal stopped")
    except AssertionError:
        left = {p: proc_title(p) for k in children_of(emp.pid) for p in (k, *tree(k))}
        raise AssertionError(f"left: {left}\n{emp.log()[-3000:]}") from None
    end_rss, end_cpu = rss_kb(emp.pid), cpu_seconds(emp.pid)
    span = monotonic() - t_base
    n = ops - base_ops
    per_op_ms = (end_cpu - base_cpu) / max(n, 1) * 1000
    report(f"[accept] churn {CHURN_SECONDS:.0f} s: {ops} file operations ({i} vassals started); "
           f"emperor RSS {base_rss / 1024:.1f} MB after warm-up -> {end_rss / 1024:.1f} MB "
           f"({(end_rss - base_rss) / 1024:+.2f} MB); emperor CPU {end_cpu - base_cpu:.2f} s over "
           f"{span:.1f} s for {n} operations = {per_op_ms:.2f} ms/op "
           f"({(end_cpu - base_cpu) / span * 100:.1f} % of one core); "
           f"{emp.log().count('NO MERCY')} vassal(s) SIGKILLed after the mercy")
    assert end_rss - base_rss < 3 * 1024
    assert per_op_ms < 25.0
    assert "Traceback" not in emp.log()

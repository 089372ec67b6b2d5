"""mount + manage-script-name: which app answers, and what SCRIPT_NAME/PATH_INFO it sees."""

from __future__ import annotations

import pytest
from apphelpers import ECHO_APP, call

from satrap.app.dispatch import MountDispatcher, normalize_mountpoint
from satrap.app.loader import load_app, prepare_process
from satrap.errors import AppLoadError, ConfigError

APPS = ECHO_APP + '''
root = make("root")
blog = make("blog")
admin = make("admin")
application = make("default-callable")
'''


def load(cfg):
    prepare_process(cfg)
    return load_app(cfg)


@pytest.fixture
def apps(write):
    write("apps.py", APPS)


@pytest.fixture
def managed(apps, cfg):
    return load(cfg(mount=["/=apps:root", "/blog=apps:blog", "/blog/admin=apps:admin"],
                    manage_script_name=True))


@pytest.mark.parametrize(("path", "answer"), [
    ("/blog/post/1", b"blog /blog /post/1"),
    ("/blog/", b"blog /blog /"),
    ("/blog", b"blog /blog "),
    ("/blogger", b"root  /blogger"),           # a prefix only counts on a segment boundary
    ("/blog/admin/users", b"admin /blog/admin /users"),  # the longest mountpoint wins
    ("/blog/administrator", b"blog /blog /administrator"),
    ("/", b"root  /"),
    ("/elsewhere", b"root  /elsewhere"),
])
def test_manage_script_name_longest_prefix(managed, path, answer):
    assert call(managed, path)[1] == answer


def test_manage_script_name_overrides_a_script_name_from_the_web_server(managed):
    assert call(managed, "/blog/x", SCRIPT_NAME="/nginx")[1] == b"blog /blog /x"


def test_dispatcher_precomputes_longest_first(managed):
    assert isinstance(managed, MountDispatcher)
    assert [mp for mp, _ in managed._prefixes] == ["/blog/admin", "/blog"]
    assert isinstance(managed._prefixes, tuple)


def test_without_manage_script_name_script_name_var_chooses(apps, cfg):
    """As with nginx ``uwsgi_param SCRIPT_NAME /blog;``: the var picks the app, PATH_INFO stays."""
    app = load(cfg(mount=["/=apps:root", "/blog=apps:blog"]))
    assert call(app, "/blog/x", SCRIPT_NAME="/blog")[1] == b"blog /blog /blog/x"
    assert call(app, "/blog/x", SCRIPT_NAME="/blog/")[1] == b"blog /blog/ /blog/x"
    assert call(app, "/blog/x")[1] == b"root  /blog/x"  # no SCRIPT_NAME: the default app
    assert call(app, "/x", SCRIPT_NAME="/unknown")[1] == b"root /unknown /x"


def test_uwsgi_appid_var_chooses(apps, cfg):
    app = load(cfg(mount=["/=apps:root", "/blog=apps:blog"], manage_script_name=True))
    assert call(app, "/x", UWSGI_APPID="/blog")[1] == b"blog  /x"


def test_no_default_app_answers_500(apps, cfg, caplog):
    app = load(cfg(mount=["/blog=apps:blog"]))
    status, body, _ = call(app, "/blog/x")
    assert status == "500 Internal Server Error"
    assert b"no application" in body
    assert "no application found" in caplog.text
    assert call(app, "/x", SCRIPT_NAME="/blog")[0] == "200 OK"


def test_module_is_the_default_next_to_mounts(apps, cfg, write):
    write("main.py", ECHO_APP + 'application = make("main")\n')
    app = load(cfg(module="main", mount=["/blog=apps:blog"], manage_script_name=True))
    assert call(app, "/blog/1")[1] == b"blog /blog /1"
    assert call(app, "/x")[1] == b"main  /x"


@pytest.mark.parametrize("target", ["apps:blog", "apps", "blog.py", "blog.wsgi"])
def test_mount_target_forms(apps, cfg, write, target):
    write("blog.py", ECHO_APP + 'application = make("blogfile")\n')
    write("blog.wsgi", ECHO_APP + 'application = make("blogfile")\n')
    app = load(cfg(mount=[f"/b={target}"], manage_script_name=True))
    expected = {"apps:blog": b"blog", "apps": b"default-callable"}.get(target, b"blogfile")
    assert call(app, "/b/x")[1] == expected + b" /b /x"


def test_mount_uses_callable_option_for_files_and_bare_modules(apps, cfg):
    app = load(cfg(mount=["/a=apps"], callable="admin", manage_script_name=True))
    assert call(app, "/a/")[1] == b"admin /a /"


def test_trailing_slash_mountpoint_is_the_same_mount(apps, cfg):
    app = load(cfg(mount=["/blog/=apps:blog"], manage_script_name=True))
    assert call(app, "/blog/x")[1] == b"blog /blog /x"


def test_single_root_mount_is_returned_undecorated(apps, cfg, write):
    app = load(cfg(mount=["/=apps:root"], manage_script_name=True))
    assert not isinstance(app, MountDispatcher)
    assert call(app, "/x")[1] == b"root  /x"


def test_duplicate_mountpoint_first_wins(apps, cfg, caplog):
    app = load(cfg(mount=["/b=apps:blog", "/b/=apps:admin"], manage_script_name=True))
    assert call(app, "/b/x")[1] == b"blog /b /x"
    assert "already configured" in caplog.text


def test_paste_ini_mount_is_refused_clearly(apps, cfg):
    with pytest.raises(AppLoadError, match="PasteDeploy"):
        load(cfg(mount=["/p=development.ini"], need_app=True))


def test_malformed_mount(cfg):
    with pytest.raises(ConfigError, match="expected /mountpoint=module:callable"):
        load(cfg(mount=["/nothing"]))


def test_mounted_module_not_found(cfg):
    with pytest.raises(AppLoadError, match="cannot import module 'ghost'"):
        load(cfg(mount=["/g=ghost:app"]))


def test_flask_apps_under_prefixes_build_urls_with_the_prefix(cfg, write):
    write("one.py", '''
        from flask import Flask, url_for
        app = Flask(__name__)
        @app.route("/page")
        def page():
            return url_for("page")
    ''')
    app = load(cfg(mount=["/one=one:app"], manage_script_name=True))
    assert call(app, "/one/page")[1] == b"/one/page"


@pytest.mark.parametrize(("given", "normal"), [("/a/", "/a"), ("/", ""), ("", ""), ("/a", "/a")])
def test_normalize_mountpoint(given, normal):
    assert normalize_mountpoint(given) == normal

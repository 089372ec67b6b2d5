"""load_app: every way uWSGI users name their app, and the one-line errors when they get it wrong."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from textwrap import dedent

import pytest
from apphelpers import ECHO_APP, call

from satrap.app.dispatch import MountDispatcher
from satrap.app.loader import load_app, prepare_process, wsgi_file_module_name
from satrap.errors import AppLoadError, ExitCode

HELLO = '''
def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hello from application"]

def myapp(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hello from myapp"]
'''

FLASK_APP = '''
from flask import Flask, render_template_string
app = Flask(__name__)
MODULE_NAME = __name__

@app.route("/")
def index():
    return "flask says hi"

@app.route("/where")
def where():
    return app.root_path

if __name__ == '__main__':
    app.run(host="0.0.0.0", port=8081)
'''


def load(cfg):
    prepare_process(cfg)
    return load_app(cfg)


def assert_one_line_without_satrap(err: AppLoadError) -> None:
    message = str(err)
    assert "\n" not in message
    assert "satrap/" not in message and "Traceback" not in message
    assert "satrap/app" not in err.detail
    assert "importlib._bootstrap" not in err.detail


# ---------------------------------------------------------------------------- module forms


def test_nothing_configured_returns_none(cfg):
    assert load(cfg()) is None


def test_module_colon_callable(cfg, write):
    write("server.py", HELLO)
    assert call(load(cfg(module="server:myapp")))[1] == b"hello from myapp"


def test_module_plus_callable_option(cfg, write):
    write("server.py", HELLO)
    assert call(load(cfg(module="server", callable="myapp")))[1] == b"hello from myapp"


def test_module_default_callable_is_application(cfg, write):
    write("server.py", HELLO)
    assert call(load(cfg(module="server")))[1] == b"hello from application"


def test_colon_form_wins_over_callable_option(cfg, write):
    write("server.py", HELLO)
    assert call(load(cfg(module="server:myapp", callable="application")))[1] == b"hello from myapp"


def test_dotted_package_module(cfg, write):
    write("pkg/__init__.py", "")
    write("pkg/web/__init__.py", "")
    write("pkg/web/wsgi.py", HELLO)
    assert call(load(cfg(module="pkg.web.wsgi:myapp")))[1] == b"hello from myapp"


def test_dashed_module_name_as_uwsgi_imports_it(cfg, write, monkeypatch):
    """Seed 002: ``--module flask-app:app`` imports a module literally named ``flask-app``."""
    import flask
    monkeypatch.setattr(flask.Flask, "run", lambda *a, **k: pytest.fail("app.run() was called"))
    write("flask-app.py", FLASK_APP)
    app = load(cfg(module="flask-app:app"))
    status, body, _ = call(app)
    assert (status, body) == ("200 OK", b"flask says hi")
    assert sys.modules["flask-app"].MODULE_NAME == "flask-app"


def test_dashed_module_from_another_directory_fails(cfg, write, tmp_path):
    write("elsewhere/flask-app.py", FLASK_APP)
    with pytest.raises(AppLoadError) as info:
        load(cfg(module="flask-app:app"))
    assert "cannot import module 'flask-app'" in str(info.value)
    assert info.value.exit_code == ExitCode.APP_LOAD


def test_factory_callable_with_parentheses(cfg, write):
    write("factory.py", '''
        CALLS = []
        def create_app():
            CALLS.append(1)
            def app(environ, start_response):
                start_response("200 OK", [])
                return [b"made by factory"]
            return app
    ''')
    app = load(cfg(module="factory:create_app()"))
    assert call(app)[1] == b"made by factory"
    assert sys.modules["factory"].CALLS == [1]


def test_factory_through_callable_option(cfg, write):
    write("factory.py", '''
        def create_app():
            return lambda environ, start_response: (start_response("200 OK", []), [b"ok"])[1]
    ''')
    assert call(load(cfg(module="factory", callable="create_app()")))[1] == b"ok"


def test_flask_factory(cfg, write):
    write("factoryapp.py", '''
        from flask import Flask
        def create_app(test_config=None):
            app = Flask(__name__)
            app.add_url_rule("/", "index", lambda: "from factory")
            return app
    ''')
    assert call(load(cfg(module="factoryapp:create_app()")))[1] == b"from factory"


def test_factory_named_without_parentheses_is_explained(cfg, write):
    write("factory.py", '''
        def create_app():
            return None
    ''')
    with pytest.raises(AppLoadError) as info:
        load(cfg(module="factory:create_app"))
    assert "create_app()" in str(info.value)
    assert "factory" in str(info.value)


def test_factory_that_raises(cfg, write):
    write("factory.py", '''
        def create_app():
            raise RuntimeError("no database")
    ''')
    with pytest.raises(AppLoadError) as info:
        load(cfg(module="factory:create_app()"))
    assert str(info.value) == ("module 'factory' factory create_app() raised "
                               "RuntimeError: no database while creating the app")
    assert 'raise RuntimeError("no database")' in info.value.detail
    assert_one_line_without_satrap(info.value)


def test_factory_returning_non_callable(cfg, write):
    write("factory.py", "def create_app():\n    return 42\n")
    with pytest.raises(AppLoadError, match=r"create_app\(\) returned a int, not a WSGI callable"):
        load(cfg(module="factory:create_app()"))


def test_applications_dict(cfg, write):
    write("multi.py", ECHO_APP + dedent('''
        main = make("main")
        applications = {"/": main, "/blog": make("blog"), "/shop": "shop_app"}
        shop_app = make("shop")
    '''))
    app = load(cfg(module="multi", manage_script_name=True))
    assert isinstance(app, MountDispatcher)
    assert call(app, "/blog/post/1")[1] == b"blog /blog /post/1"
    assert call(app, "/shop")[1] == b"shop /shop "
    assert call(app, "/other")[1] == b"main  /other"


def test_applications_dict_wins_over_callable(cfg, write):
    """uWSGI's uwsgi_uwsgi_loader returns ``applications`` before looking at the callable."""
    write("multi.py", ECHO_APP + dedent('''
        application = make("plain")
        applications = {"": make("from-dict")}
    '''))
    assert call(load(cfg(module="multi:application")))[1] == b"from-dict  /"


def test_applications_dict_bad_entry(cfg, write):
    write("multi.py", 'applications = {"/x": 42}\n')
    with pytest.raises(AppLoadError, match=r"applications\['/x'\] is a int"):
        load(cfg(module="multi"))


# ---------------------------------------------------------------------------- module errors


def test_module_not_found(cfg, tmp_path):
    with pytest.raises(AppLoadError) as info:
        load(cfg(module="server:myapp"))
    message = str(info.value)
    assert message.startswith(f"cannot import module 'server' (looked in {tmp_path}")
    assert "No module named 'server'" in message
    assert "chdir or pythonpath" in message
    assert_one_line_without_satrap(info.value)


def test_module_given_as_file_name_hints_wsgi_file(cfg, write):
    write("server.py", HELLO)
    with pytest.raises(AppLoadError, match="wsgi-file = server.py"):
        load(cfg(module="server.py"))


def test_submodule_not_found(cfg, write):
    write("pkg/__init__.py", "")
    with pytest.raises(AppLoadError, match=r"cannot import module 'pkg\.nope'"):
        load(cfg(module="pkg.nope:app"))


def test_module_raising_at_import(cfg, write):
    write("boom.py", "import os\nVALUE = 1 / 0\n")
    with pytest.raises(AppLoadError) as info:
        load(cfg(module="boom:app"))
    assert str(info.value) == ("module 'boom' raised ZeroDivisionError: division by zero "
                               "while importing")
    detail = info.value.detail
    assert detail.startswith("Traceback (most recent call last):")
    assert "boom.py\", line 2" in detail and "VALUE = 1 / 0" in detail
    assert detail.rstrip().endswith("ZeroDivisionError: division by zero")
    assert_one_line_without_satrap(info.value)


def test_module_with_missing_dependency_is_not_called_missing(cfg, write):
    write("needsdep.py", "import nosuchdependency_xyz\napplication = None\n")
    with pytest.raises(AppLoadError) as info:
        load(cfg(module="needsdep"))
    assert str(info.value) == ("module 'needsdep' raised ModuleNotFoundError: No module named "
                               "'nosuchdependency_xyz' while importing")
    assert "import nosuchdependency_xyz" in info.value.detail


def test_module_calling_sys_exit_at_import(cfg, write):
    write("quitter.py", "import sys\nsys.exit('configuration missing')\n")
    with pytest.raises(AppLoadError, match="raised SystemExit: configuration missing"):
        load(cfg(module="quitter"))


def test_syntax_error_in_module(cfg, write):
    write("broken.py", "def f(:\n    pass\n")
    with pytest.raises(AppLoadError) as info:
        load(cfg(module="broken"))
    assert str(info.value).startswith("module 'broken' raised SyntaxError:")
    assert "broken.py" in info.value.detail
    assert_one_line_without_satrap(info.value)


def test_callable_missing_lists_candidates(cfg, write):
    write("server.py", '''
        import json
        from os.path import join
        from flask import Flask, render_template
        app = Flask(__name__)
        def application_helper(environ, start_response):
            return []
        def create_app():
            return app
        class Thing:
            pass
        NAME = "x"
    ''')
    with pytest.raises(AppLoadError) as info:
        load(cfg(module="server", callable="myapp"))
    message = str(info.value)
    assert message.startswith("module 'server' has no callable 'myapp' (found: ")
    found = message.split("(found: ")[1].split("); ")[0]
    assert found.split(", ") == ["app", "application_helper", "create_app()"]
    assert "render_template" not in message and "join" not in message and "Thing" not in message
    assert "callable = <name>" in message
    assert_one_line_without_satrap(info.value)


def test_callable_missing_when_nothing_looks_like_an_app(cfg, write):
    write("server.py", "X = 1\n")
    with pytest.raises(AppLoadError, match="it defines no WSGI-looking callable"):
        load(cfg(module="server"))


def test_callable_not_callable(cfg, write):
    write("server.py", "application = 'not an app'\n")
    with pytest.raises(AppLoadError) as info:
        load(cfg(module="server"))
    assert str(info.value) == "module 'server': 'application' is a str, not a WSGI callable"


def test_failed_import_leaves_no_half_module(cfg, write):
    write("boom.py", "1/0\n")
    with pytest.raises(AppLoadError):
        load(cfg(module="boom"))
    assert "boom" not in sys.modules


# ---------------------------------------------------------------------------- wsgi-file


def test_wsgi_file_flask_guard_not_run(cfg, write, monkeypatch):
    """Seed 001/003: ``app.run()`` under ``if __name__ == '__main__'`` must not start a server."""
    import flask
    monkeypatch.setattr(flask.Flask, "run", lambda *a, **k: pytest.fail("app.run() was called"))
    write("flask-demo.py", FLASK_APP)
    app = load(cfg(wsgi_file="flask-demo.py", callable="app"))
    assert call(app)[:2] == ("200 OK", b"flask says hi")
    module = sys.modules["uwsgi_file_flask-demo"]
    assert module.MODULE_NAME == "uwsgi_file_flask-demo"


def test_wsgi_file_flask_root_path_is_the_file_directory(cfg, write, tmp_path):
    write("proj/flask-demo.py", FLASK_APP)
    app = load(cfg(chdir=str(tmp_path / "proj"), wsgi_file="flask-demo.py", callable="app"))
    assert call(app, "/where")[1] == str(tmp_path / "proj").encode()


def test_wsgi_file_relative_to_chdir(cfg, write, tmp_path):
    write("site/app.py", HELLO)
    app = load(cfg(chdir=str(tmp_path / "site"), wsgi_file="app.py"))
    assert call(app)[1] == b"hello from application"


def test_wsgi_file_with_wsgi_extension_and_absolute_path(cfg, write, tmp_path):
    path = write("deploy/site.wsgi", HELLO)
    app = load(cfg(wsgi_file=str(path), callable="myapp"))
    assert call(app)[1] == b"hello from myapp"
    assert wsgi_file_module_name(str(path)) in sys.modules


def test_wsgi_file_can_import_siblings_from_cwd(cfg, write, tmp_path):
    write("proj/siblingmod.py", "GREETING = b'sibling'\n")
    write("proj/app.py", '''
        import siblingmod
        def application(environ, start_response):
            start_response("200 OK", [])
            return [siblingmod.GREETING]
    ''')
    assert call(load(cfg(chdir=str(tmp_path / "proj"), wsgi_file="app.py")))[1] == b"sibling"


def test_wsgi_file_missing(cfg, tmp_path):
    with pytest.raises(AppLoadError) as info:
        load(cfg(wsgi_file="nope.py"))
    assert str(info.value) == f"wsgi-file nope.py: no such file (cwd {tmp_path})"


def test_wsgi_file_raising(cfg, write):
    write("bad.py", "raise KeyError('SECRET_KEY')\n")
    with pytest.raises(AppLoadError) as info:
        load(cfg(wsgi_file="bad.py"))
    assert str(info.value) == "file 'bad.py' raised KeyError: 'SECRET_KEY' while importing"
    assert "bad.py\", line 1" in info.value.detail
    assert_one_line_without_satrap(info.value)
    assert "uwsgi_file_bad" not in sys.modules


def test_wsgi_file_callable_missing(cfg, write):
    write("app.py", HELLO)
    with pytest.raises(AppLoadError) as info:
        load(cfg(wsgi_file="app.py", callable="app"))
    assert str(info.value).startswith("file 'app.py' has no callable 'app' (found: application, myapp)")


def test_wsgi_file_factory(cfg, write):
    write("app.py", '''
        def create_app():
            return lambda environ, start_response: (start_response("200 OK", []), [b"f"])[1]
    ''')
    assert call(load(cfg(wsgi_file="app.py", callable="create_app()")))[1] == b"f"


@pytest.mark.parametrize(("path", "name"), [
    ("/srv/app/wsgi.py", "uwsgi_file__srv_app_wsgi"),
    ("flask-demo.py", "uwsgi_file_flask-demo"),
    ("site.wsgi", "uwsgi_file_site_wsgi"),
    ("./x/app.py", "uwsgi_file___x_app"),
])
def test_wsgi_file_module_name_matches_uwsgi(path, name):
    assert wsgi_file_module_name(path) == name


# ---------------------------------------------------------------------------- need-app policy


def test_module_and_wsgi_file_first_wins(cfg, write, caplog):
    write("server.py", HELLO)
    write("other.py", "raise SystemExit('must not be imported')\n")
    with caplog.at_level(logging.WARNING, logger="satrap.app"):
        app = load(cfg(module="server", wsgi_file="other.py"))
    assert call(app)[1] == b"hello from application"
    assert "already configured" in caplog.text


def test_failing_mount_is_skipped_without_need_app(cfg, write, caplog):
    write("good.py", HELLO)
    write("boom.py", "1/0\n")
    with caplog.at_level(logging.ERROR, logger="satrap.app"):
        app = load(cfg(mount=["/good=good:myapp", "/bad=boom:app"], manage_script_name=True))
    assert call(app, "/good/x")[1] == b"hello from myapp"
    assert call(app, "/bad/x")[0].startswith("500")
    assert "module 'boom' raised ZeroDivisionError" in caplog.text


def test_failing_mount_is_fatal_with_need_app(cfg, write):
    write("good.py", HELLO)
    write("boom.py", "1/0\n")
    with pytest.raises(AppLoadError, match="module 'boom' raised"):
        load(cfg(mount=["/bad=boom:app", "/good=good:myapp"], need_app=True))


def test_nothing_loads_raises_first_error(cfg, write):
    write("boom.py", "1/0\n")
    with pytest.raises(AppLoadError, match="cannot import module 'missing'"):
        load(cfg(module="missing", mount=["/b=boom:app"]))


def test_error_messages_hide_satrap_frames_even_for_chained_errors(cfg, write):
    write("chained.py", '''
        try:
            {}["k"]
        except KeyError as exc:
            raise RuntimeError("wrapped") from exc
    ''')
    with pytest.raises(AppLoadError) as info:
        load(cfg(module="chained"))
    detail = info.value.detail
    assert "KeyError" in detail and "RuntimeError: wrapped" in detail
    assert_one_line_without_satrap(info.value)
    assert Path(__file__).name not in detail

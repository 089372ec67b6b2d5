"""Find the user's WSGI app the way uWSGI's Python plugin does, and explain failures in one line.

Two steps, both run once per process (in the master before fork, or in each worker with
``lazy-apps``):

``prepare_process(cfg)``
    What uWSGI does before it imports anything: ``env``/``unenv`` (putenv), ``chdir``, then the
    import path. uWSGI's ``uwsgi_python_init`` inserts, each at index 0 of ``sys.path``: the
    virtualenv's ``lib/pythonX.Y``, then ``.``, then every ``pythonpath`` entry in order. So the
    final order is: last pythonpath entry, ..., first pythonpath entry, the cwd, the venv,
    the rest. satrap inserts the *absolute* cwd (after ``chdir``) instead of a literal ``.``,
    because importlib caches finders per path string and a later ``chdir2`` must not move imports.

``load_app(cfg)``
    Loaders, as in ``plugins/python/pyloader.c``:

    * ``module = pkg.mod:callable`` or ``module = pkg.mod`` + ``callable`` (default
      ``application``). The name is imported literally with ``importlib``, so ``flask-app`` is a
      module named ``flask-app`` found on ``sys.path`` (not a file path), exactly like uWSGI.
      A module-level dict ``applications`` (mountpoint → callable, or → name of a callable in the
      module) takes precedence over the callable, as in uWSGI.
    * ``callable`` ending in ``()`` is a factory: it is called with no arguments and its result
      served (``create_app()``).
    * ``wsgi-file = path`` executes the file as a fresh module named
      ``uwsgi_file_<path with . and / turned into _, .py dropped>``, so the
      ``if __name__ == '__main__': app.run()`` guard does *not* fire.
    * ``mount = /prefix=app`` (repeatable; app is ``module:callable``, ``module`` or a
      ``.py``/``.wsgi`` file) builds a :class:`~satrap.app.dispatch.MountDispatcher`.

Failure policy (uWSGI's ``need-app``: "exit if no app can be loaded"): every problem becomes an
:class:`~satrap.errors.AppLoadError` whose message is one line naming the module/file and the
cause, and whose ``detail`` is the *user's* traceback with satrap's and importlib's frames removed.
With ``need_app`` the first failure is raised at once. Without it, a failing mount is logged on
``satrap.app`` and skipped, as uWSGI does, and the error is raised only if no app loaded at all
(the caller then serves 500s, uWSGI's "full dynamic mode", or exits 22 when ``need_app``).
"""

from __future__ import annotations

import importlib
import importlib.machinery
import inspect
import logging
import os
import re
import sys
import traceback
import types
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, cast

from satrap.app.dispatch import MountDispatcher, WSGIApp, normalize_mountpoint
from satrap.errors import AppLoadError, ConfigError

__all__ = ["prepare_process", "load_app", "wsgi_file_module_name", "user_traceback"]

log = logging.getLogger("satrap.app")

_SATRAP_DIR = str(Path(__file__).resolve().parent.parent) + os.sep
_WSGI_FILE_SUFFIXES = (".py", ".wsgi")


def _opt(cfg: Any, name: str, default: Any) -> Any:
    """Read one option, tolerating configs that do not carry it (tests, older Config objects)."""
    value = getattr(cfg, name, default)
    return default if value is None and default is not None else value


# --------------------------------------------------------------------------------------------
# prepare_process


def prepare_process(cfg: Any) -> None:
    """Apply env/unenv, chdir, virtualenv and pythonpath to this process, in uWSGI's order.

    Raises :class:`ConfigError` (a one-line message) for things only the operator can fix: an
    ``env`` without ``=``, a missing ``chdir`` directory, a missing or foreign-Python virtualenv.
    """
    for item in _opt(cfg, "env", []):
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"env = {item}: expected KEY=VALUE")
        os.environ[key] = value
    for key in _opt(cfg, "unenv", []):
        os.environ.pop(key, None)

    chdir = _opt(cfg, "chdir", None)
    if chdir:
        try:
            os.chdir(chdir)
        except FileNotFoundError:
            raise ConfigError(f"chdir = {chdir}: no such directory") from None
        except NotADirectoryError:
            raise ConfigError(f"chdir = {chdir}: not a directory") from None
        except PermissionError:
            raise ConfigError(f"chdir = {chdir}: permission denied") from None
    cwd = os.getcwd()

    venv = _opt(cfg, "virtualenv", None)
    if venv:
        _activate_virtualenv(os.path.join(cwd, venv))

    _path_to_front(cwd)
    for entry in _opt(cfg, "pythonpath", []):
        for path in _expand_pythonpath(entry, cwd):
            _path_to_front(path)
            log.info("added %s to pythonpath.", path)


def _path_to_front(path: str) -> None:
    """Insert at sys.path[0], dropping an older copy so prepare_process can run twice."""
    while path in sys.path:
        sys.path.remove(path)
    sys.path.insert(0, path)


def _expand_pythonpath(entry: str, cwd: str) -> list[str]:
    """uWSGI globs each pythonpath value (``GLOB_NOCHECK``: no match keeps the text as is).
    Relative entries are taken relative to the cwd after ``chdir``, where the imports happen."""
    import glob  # only with a pythonpath: not a module every app's workers need

    pattern = os.path.normpath(os.path.join(cwd, entry))
    if glob.has_magic(pattern):
        matches = sorted(glob.glob(pattern))
        if matches:
            return matches
    return [pattern]


def _activate_virtualenv(venv: str) -> None:
    """Put the venv's site-packages (and its ``.pth`` files, e.g. editable installs) first.

    uWSGI calls ``Py_SetPythonHome`` before starting its embedded interpreter; a pure-Python server
    is already running on some interpreter, so it can only borrow the venv's packages, and only when
    they were built for this Python version.
    """
    venv = os.path.normpath(venv)
    if not os.path.isdir(venv):
        raise ConfigError(f"virtualenv = {venv}: no such directory")
    running = f"{sys.version_info[0]}.{sys.version_info[1]}"
    venv_version = _virtualenv_python_version(venv)
    site_dirs = [d for d in (os.path.join(venv, lib, f"python{running}", "site-packages")
                             for lib in ("lib", "lib64")) if os.path.isdir(d)]
    if venv_version is None and not site_dirs:
        found = _lib_python_versions(venv)
        venv_version = found[0] if found else None
    if venv_version is not None and venv_version != running:
        raise ConfigError(
            f"virtualenv = {venv} is for Python {venv_version} but satrap runs on Python {running} "
            f"({sys.executable}) and cannot switch interpreters: install satrap in that virtualenv "
            f"and run it from there ({os.path.join(venv, 'bin', 'satrap')}), "
            f"or recreate the virtualenv with Python {running}")
    if not site_dirs:
        raise ConfigError(
            f"virtualenv = {venv} has no lib/python{running}/site-packages: is it a virtualenv?")

    import site  # late: only virtualenv users pay for it

    for site_dir in reversed(site_dirs):
        before = list(sys.path)
        site.addsitedir(site_dir)  # appends site_dir and whatever its .pth files add
        added = [p for p in sys.path if p not in before]
        if site_dir not in added:
            added.insert(0, site_dir)
        for path in reversed(added):
            _path_to_front(path)
    os.environ["VIRTUAL_ENV"] = venv


def _virtualenv_python_version(venv: str) -> str | None:
    """``X.Y`` from ``pyvenv.cfg`` (``version`` from venv, ``version_info`` from virtualenv)."""
    try:
        text = Path(venv, "pyvenv.cfg").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip() in ("version", "version_info"):
            match = re.match(r"\s*(\d+)\.(\d+)", value)
            if match:
                return f"{match.group(1)}.{match.group(2)}"
    return None


def _lib_python_versions(venv: str) -> list[str]:
    import glob

    versions = []
    for lib in ("lib", "lib64"):
        for entry in sorted(glob.glob(os.path.join(venv, lib, "python*.*"))):
            match = re.fullmatch(r"python(\d+\.\d+)t?", os.path.basename(entry))
            if match and match.group(1) not in versions:
                versions.append(match.group(1))
    return versions


# --------------------------------------------------------------------------------------------
# load_app


def load_app(cfg: Any) -> WSGIApp | None:
    """The WSGI callable to serve, or None when no module, wsgi-file or mount is configured.

    Several apps (``mount``, an ``applications`` dict) come back as one
    :class:`MountDispatcher`; a single app at the root comes back as itself, so the common case
    pays nothing per request. Raises :class:`AppLoadError` (see the module doc for the policy),
    or :class:`ConfigError` for a ``mount`` value without ``=``.
    """
    callable_name = _opt(cfg, "callable", "application") or "application"
    # (mountpoint, thunk) in uWSGI's order: module, then wsgi-file, then each mount
    sources: list[tuple[str, Callable[[], list[tuple[str, WSGIApp]]]]] = []
    module = _opt(cfg, "module", None)
    wsgi_file = _opt(cfg, "wsgi_file", None)
    if module:
        sources.append(("", lambda: _load_module_spec(module, callable_name, "")))
    if wsgi_file:
        sources.append(("", lambda: [("", _load_wsgi_file(wsgi_file, callable_name))]))
    for spec in _opt(cfg, "mount", []):
        mountpoint, sep, target = spec.partition("=")
        if not sep or not target:
            raise ConfigError(f"mount = {spec}: expected /mountpoint=module:callable or =file.py")
        mountpoint = normalize_mountpoint(mountpoint.strip())
        target = target.strip()
        sources.append((mountpoint, _mount_thunk(mountpoint, target, callable_name)))
    if not sources:
        return None

    need_app = bool(_opt(cfg, "need_app", False))
    mounts: list[tuple[str, WSGIApp]] = []
    taken: set[str] = set()
    errors: list[AppLoadError] = []
    for mountpoint, thunk in sources:
        if mountpoint in taken:
            log.warning("mountpoint '%s' already configured. skip.", mountpoint)
            continue
        try:
            loaded = thunk()
        except AppLoadError as err:
            if need_app:
                raise
            errors.append(err)
            continue
        for mp, app in loaded:
            mp = normalize_mountpoint(mp)
            if mp in taken:
                log.warning("mountpoint '%s' already configured. skip.", mp)
                continue
            taken.add(mp)
            mounts.append((mp, app))

    if not mounts:
        if not errors:  # every mountpoint was a duplicate: nothing new to serve
            return None
        for failure in errors[1:]:
            _log_failure(failure)
        raise errors[0]
    for failure in errors:
        _log_failure(failure)
    if len(mounts) == 1 and mounts[0][0] == "":
        return mounts[0][1]
    return MountDispatcher(mounts, bool(_opt(cfg, "manage_script_name", False)))


def _log_failure(err: AppLoadError) -> None:
    log.error("%s", err)
    if err.detail:
        log.error("%s", err.detail.rstrip("\n"))


def _mount_thunk(mountpoint: str, target: str,
                 callable_name: str) -> Callable[[], list[tuple[str, WSGIApp]]]:
    """uWSGI's ``uwsgi_mount_loader``: a .py/.wsgi file, or a module; paste .ini is not here."""
    def load() -> list[tuple[str, WSGIApp]]:
        if target.endswith(_WSGI_FILE_SUFFIXES):
            return [(mountpoint, _load_wsgi_file(target, callable_name))]
        if target.endswith(".ini"):
            raise AppLoadError(
                f"mount = {mountpoint}={target}: PasteDeploy .ini apps are not supported; "
                "mount a module:callable that calls paste.deploy.loadapp() instead")
        return _load_module_spec(target, callable_name, mountpoint)
    return load


def _load_module_spec(spec: str, default_callable: str,
                      mountpoint: str) -> list[tuple[str, WSGIApp]]:
    """``pkg.mod:callable`` / ``pkg.mod`` → [(mountpoint, app)], or the ``applications`` dict."""
    modname, sep, attr = spec.partition(":")
    modname = modname.strip()
    attr = attr.strip() if sep else default_callable
    module = _import_module(modname)
    what = f"module '{modname}'"
    applications = getattr(module, "applications", None)
    if isinstance(applications, dict):
        return _applications_dict(applications, module, what)
    return [(mountpoint, _resolve_callable(module, attr, what))]


def _applications_dict(applications: dict[Any, Any], module: types.ModuleType,
                       what: str) -> list[tuple[str, WSGIApp]]:
    if not applications:
        raise AppLoadError(f"{what} has an empty 'applications' dict: define at least one app")
    result = []
    for mountpoint, target in applications.items():
        if not isinstance(mountpoint, str):
            raise AppLoadError(
                f"{what}: 'applications' keys must be mountpoint strings, got {mountpoint!r}")
        if isinstance(target, str):
            app = _resolve_callable(module, target, what)
        elif callable(target):
            app = target
        else:
            raise AppLoadError(f"{what}: applications[{mountpoint!r}] is a "
                               f"{type(target).__name__}, not a WSGI callable")
        result.append((mountpoint, app))
    return result


def _import_module(modname: str) -> types.ModuleType:
    if not modname:
        raise AppLoadError("module = : empty module name")
    importlib.invalidate_caches()  # files written since start-up (reloads, tests) must be seen
    try:
        return importlib.import_module(modname)
    except ModuleNotFoundError as exc:
        if exc.name and (modname == exc.name or modname.startswith(exc.name + ".")):
            raise AppLoadError(_not_found_message(modname, str(exc))) from None
        raise _raised_error(f"module '{modname}'", exc) from None
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - any import error is reported as the app failing to load
        raise _raised_error(f"module '{modname}'", exc) from None


def _not_found_message(modname: str, reason: str) -> str:
    shown = [p or os.getcwd() for p in sys.path[:3]]
    where = ", ".join(shown) + (", ..." if len(sys.path) > 3 else "")
    hint = "set chdir or pythonpath to the directory that holds it"
    if modname.endswith(_WSGI_FILE_SUFFIXES) or "/" in modname:
        hint = f"to load a file use wsgi-file = {modname}"
    return f"cannot import module '{modname}' (looked in {where}): {reason}; {hint}"


def wsgi_file_module_name(path: str) -> str:
    """uWSGI's ``uwsgi_file_`` + ``uwsgi_pythonize(path)``: ``.`` and ``/`` become ``_`` and a
    final ``.py`` is dropped, so ``/srv/app/wsgi.py`` → ``uwsgi_file__srv_app_wsgi``."""
    name = path.replace(".", "_").replace("/", "_")
    name = name.removesuffix("_py")
    return "uwsgi_file_" + name


def _load_wsgi_file(path: str, callable_name: str) -> WSGIApp:
    """Execute ``path`` as a new module (never as ``__main__``) and take its callable."""
    what = f"file '{path}'"
    filename = os.path.abspath(path)
    try:
        source = Path(filename).read_bytes()
    except FileNotFoundError:
        raise AppLoadError(f"wsgi-file {path}: no such file (cwd {os.getcwd()})") from None
    except IsADirectoryError:
        raise AppLoadError(f"wsgi-file {path}: is a directory, not a Python file") from None
    except OSError as exc:
        raise AppLoadError(f"wsgi-file {path}: cannot read it: {exc.strerror}") from None
    name = wsgi_file_module_name(path)
    module = types.ModuleType(name)
    module.__file__ = filename
    module.__spec__ = importlib.machinery.ModuleSpec(name, None, origin=filename)
    module.__spec__.has_location = True
    sys.modules[name] = module  # before exec: Flask(__name__) looks itself up to find root_path
    try:
        code = compile(source, filename, "exec", dont_inherit=True)
        exec(code, module.__dict__)  # noqa: S102 - running the wsgi-file is the point
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - the app's own error, reported
        sys.modules.pop(name, None)
        raise _raised_error(what, exc) from None
    return _resolve_callable(module, callable_name, what)


def _resolve_callable(module: types.ModuleType, name: str, what: str) -> WSGIApp:
    """Look ``name`` up in the module; ``name()`` means call it as a factory."""
    factory = name.endswith("()")
    attr = name[:-2].strip() if factory else name
    namespace = vars(module)
    if attr not in namespace:
        found = _wsgi_candidates(module)
        listing = f"found: {', '.join(found)}" if found else "it defines no WSGI-looking callable"
        raise AppLoadError(f"{what} has no callable '{attr}' ({listing}); "
                           f"set callable = <name> or module = {_modname(module, what)}:<name>")
    obj = namespace[attr]
    if factory:
        if not callable(obj):
            raise AppLoadError(f"{what}: '{attr}' is a {type(obj).__name__}, not a factory to call")
        try:
            obj = obj()
        except (Exception, SystemExit) as exc:  # noqa: BLE001 - the factory's own error, reported
            raise _raised_error(f"{what} factory {attr}()", exc, verb="raised",
                                tail="while creating the app") from None
        if not callable(obj):
            raise AppLoadError(f"{what}: {attr}() returned a {type(obj).__name__}, "
                               "not a WSGI callable")
        return cast(WSGIApp, obj)
    if not callable(obj):
        raise AppLoadError(f"{what}: '{attr}' is a {type(obj).__name__}, not a WSGI callable")
    if _looks_like_factory(obj):
        raise AppLoadError(f"{what}: '{attr}' takes no arguments, so it is an app factory, not a "
                           f"WSGI app: use callable = {attr}() to call it once at start-up")
    return cast(WSGIApp, obj)


def _modname(module: types.ModuleType, what: str) -> str:
    return module.__name__ if what.startswith("module") else "<module>"


def _accepts(obj: Any, *args: Any) -> bool | None:
    """Whether ``obj(*args)`` would bind; None when Python cannot tell (C callables, proxies)."""
    try:
        inspect.signature(obj).bind(*args)
    except TypeError:
        return False
    except Exception:  # noqa: BLE001 - ValueError for builtins, anything from proxy objects
        return None
    return True


def _looks_like_factory(obj: Any) -> bool:
    return (isinstance(obj, types.FunctionType) and _accepts(obj, None, None) is False
            and _accepts(obj) is True)


def _wsgi_candidates(module: types.ModuleType, limit: int = 8) -> list[str]:
    """Names in the module that could be what the user meant: WSGI-shaped callables first
    (``app = Flask(...)``, ``def application(environ, start_response)``), then ``name()`` for
    zero-argument functions with "app" in the name (factories like ``create_app``)."""
    apps: list[str] = []
    factories: list[str] = []
    for name, obj in list(vars(module).items()):
        if name.startswith("_") or isinstance(obj, (type, types.ModuleType)):
            continue
        try:
            if not callable(obj):
                continue
            if isinstance(obj, (types.FunctionType, types.BuiltinFunctionType)) \
                    and getattr(obj, "__module__", None) != module.__name__:
                continue  # imported helpers (render_template, ...) are not the app
            if _accepts(obj, None, None):
                apps.append(name)
            elif "app" in name.lower() and isinstance(obj, types.FunctionType) and _accepts(obj):
                factories.append(f"{name}()")
        except Exception:  # noqa: BLE001, S112 - only hints for an error message: a name that cannot be probed is skipped
            continue
    return (apps + factories)[:limit]


def _raised_error(what: str, exc: BaseException, verb: str = "raised",
                  tail: str = "while importing") -> AppLoadError:
    """``module 'x' raised ZeroDivisionError: division by zero while importing`` + traceback."""
    text = str(exc).strip()
    first = text.splitlines()[0] if text else ""
    summary = f"{type(exc).__name__}: {first}" if first else type(exc).__name__
    return AppLoadError(f"{what} {verb} {summary} {tail}", user_traceback(exc))


def user_traceback(exc: BaseException) -> str:
    """The traceback of ``exc`` with satrap's and importlib's frames taken out: what is left is
    the user's code, which is what the user needs to read (chained exceptions included)."""
    te = traceback.TracebackException.from_exception(exc)
    _strip_frames(te, set())
    return "".join(te.format())


def _is_user_frame(filename: str) -> bool:
    return not filename.startswith((_SATRAP_DIR, "<frozen importlib"))


def _strip_frames(te: traceback.TracebackException, seen: set[int]) -> None:
    if id(te) in seen:
        return
    seen.add(id(te))
    te.stack = traceback.StackSummary.from_list(
        [frame for frame in te.stack if _is_user_frame(frame.filename)])
    linked: Iterable[traceback.TracebackException | None] = (
        te.__cause__, te.__context__, *(getattr(te, "exceptions", None) or ()))
    for other in linked:
        if other is not None:
            _strip_frames(other, seen)

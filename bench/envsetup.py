"""Prepare what the bench needs: its own venv with the peers, satrap from this repo, wrk, nginx.

A private venv (``bench/.venv``) keeps the peers' versions out of the developer's environment
and lets the report name exactly which versions ran. uWSGI is compiled by pip with the machine's
gcc; if that fails the bench carries on without it and says so.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

PEERS = ["uwsgi", "gunicorn", "granian", "flask"]


def _pip(venv: Path, *args: str) -> bool:
    cmd = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", *args]
    print("  $", " ".join(cmd), flush=True)
    return subprocess.run(cmd, check=False).returncode == 0


def ensure_venv(bench_dir: Path, repo: Path) -> tuple[Path, list[str]]:
    """Create/refresh ``bench/.venv``; returns (venv, notes about anything missing)."""
    venv = bench_dir / ".venv"
    notes: list[str] = []
    if not (venv / "bin" / "python").exists():
        print(f"creating {venv}", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        _pip(venv, "--upgrade", "pip")
    bin_ = venv / "bin"
    # install one by one so a failed uWSGI build does not take the others down with it
    for pkg, exe in (("flask", "flask"), ("gunicorn", "gunicorn"), ("granian", "granian"),
                     ("uwsgi", "uwsgi")):
        if not (bin_ / exe).exists() and not _pip(venv, pkg):
            notes.append(f"{pkg} failed to install; left out")
    install_satrap(venv, repo)
    return venv, notes


def install_satrap(venv: Path, repo: Path) -> None:
    """Install this checkout into the venv as a regular package, on every run.

    Why not ``pip install -e``: an editable install adds an import hook that loads pathlib,
    urllib.parse and ipaddress into every satrap process, about 0.4 MB per worker that a user's
    ``pip install satrap`` never has; the memory figures must be the ones users get. A regular
    install is a copy, so it is redone on every run to measure the checkout as it is now."""
    had_build = (repo / "build").exists()
    try:
        with_deps = (venv / "bin" / "satrap").exists() or _pip(venv, str(repo))
        if not with_deps or not _pip(venv, "--no-deps", "--force-reinstall", str(repo)):
            raise SystemExit("could not install satrap from the repo into bench/.venv")
    finally:
        if not had_build:
            shutil.rmtree(repo / "build", ignore_errors=True)  # setuptools builds in the tree


def ensure_tools() -> list[str]:
    """wrk and nginx from Debian (apt-get, as root) when they are not on PATH."""
    missing = [t for t in ("wrk", "nginx") if not _which(t)]
    if not missing:
        return []
    if os.geteuid() != 0:
        raise SystemExit(f"missing {missing}; install wrk and nginx-light (needs root)")
    pkgs = ["wrk"] if "wrk" in missing else []
    pkgs += ["nginx-light"] if "nginx" in missing else []
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    if subprocess.run(["apt-get", "install", "-y", *pkgs], env=env, check=False).returncode != 0:
        subprocess.run(["apt-get", "update"], env=env, check=True)
        subprocess.run(["apt-get", "install", "-y", *pkgs], env=env, check=True)
    return []


def _which(tool: str) -> str | None:
    return shutil.which(tool) or next(
        (p for p in (f"/usr/sbin/{tool}", f"/usr/bin/{tool}") if os.access(p, os.X_OK)), None)


def nginx_path() -> str:
    path = _which("nginx")
    if not path:
        raise SystemExit("nginx not found")
    return path


def versions(venv: Path) -> dict[str, str]:
    """Installed versions of everything that ran, for the report."""
    code = ("import importlib.metadata as m, json\n"
            "out = {}\n"
            "for p in ('satrap', 'uwsgi', 'gunicorn', 'granian', 'flask'):\n"
            "    try: out[p] = m.version(p)\n"
            "    except Exception: out[p] = 'missing'\n"
            "print(json.dumps(out))")
    import json
    out = subprocess.run([str(venv / "bin" / "python"), "-c", code], capture_output=True,
                         text=True, check=True)
    vers: dict[str, str] = json.loads(out.stdout)
    for tool, arg in (("wrk", "-v"), ("nginx", "-v")):
        p = subprocess.run([_which(tool) or tool, arg], capture_output=True, text=True, check=False)
        text = (p.stdout + p.stderr).strip().splitlines()
        vers[tool] = text[0] if text else "?"
    vers["python"] = subprocess.run([str(venv / "bin" / "python"), "-V"], check=False, capture_output=True,
                                    text=True).stdout.strip()
    return vers

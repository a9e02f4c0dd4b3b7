"""`pip install .` from the repo root gives a working, typed package (issue 3): built into a
fresh venv by pip's own isolated build (maturin's PEP 517 backend), imported from outside the
repo so the source tree cannot stand in for the installed package."""

from __future__ import annotations

import os
import subprocess
import venv
from pathlib import Path

from conftest import REPO

CHECK = """
import pathlib, sys
import modelplug
from modelplug import _native
package = pathlib.Path(modelplug.__file__).parent
assert pathlib.Path(sys.prefix) in package.parents, package
assert (package / "py.typed").is_file(), "py.typed missing from the wheel"
assert (package / "_native.pyi").is_file(), "the native module's stubs are missing from the wheel"
reply = modelplug.Client().chat(model="mock/echo", messages=[{"role": "user", "content": "installed"}])
print(reply.text)
"""


def test_pip_install_from_the_repo_root(tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    # The dev profile reuses the build `make test` already did; a release wheel is the same
    # package, only slower to compile.
    env = {**os.environ, "MATURIN_PEP517_ARGS": "--profile dev"}
    env.pop("VIRTUAL_ENV", None)
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", str(REPO)],
        env=env, capture_output=True, text=True, timeout=900,
    )
    assert install.returncode == 0, install.stdout + install.stderr
    check = subprocess.run([str(python), "-c", CHECK], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stderr
    assert check.stdout.strip() == "installed"

"""The package works installed from its wheel, outside the checkout, with the rule files it ships.

Builds the wheel, installs it (without dependencies) into a fresh venv in a temporary folder, lends that venv
this environment's third-party packages through a path entry (so the test needs no network, and the checkout's
own ``atmp`` is never on the path), and runs ``atmp classify``, ``validate``, ``qc`` and ``query`` from a folder
outside the checkout: every answer must equal the editable install's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CARDS = ROOT / "tests" / "fixtures" / "examples" / "cards.json"


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATMP_") and k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PYTHONNOUSERSITE"] = "1"
    return env


@pytest.fixture(scope="module")
def wheel_env(tmp_path_factory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("wheel")
    dist = tmp / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(ROOT)], check=True, env=_clean_env(), cwd=tmp)
    wheel = next(dist.glob("atmp_kg-*.whl"))
    env_dir = tmp / "venv"
    venv.create(env_dir, with_pip=False)
    py = env_dir / "bin" / "python"
    site = Path(subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], capture_output=True, text=True, check=True).stdout.strip())
    # third-party packages from this environment, as a plain path entry: their .pth files (the checkout's editable
    # install among them) are not processed, so the only atmp the venv can import is the wheel's
    (site / "_borrowed.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(site)
    scripts = env_dir / "bin"
    (scripts / "atmp").write_text(f"#!{py}\nimport sys\nfrom atmp.cli import main\nsys.exit(main())\n")
    (scripts / "atmp").chmod(0o755)
    return wheel, env_dir


def run_installed(env_dir: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(env_dir / "bin" / "atmp"), *args], capture_output=True, text=True, env=_clean_env(), cwd=cwd, timeout=600)


def run_checkout(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "atmp.cli", *args], capture_output=True, text=True, cwd=ROOT, timeout=600)


def test_wheel_ships_the_rule_files(wheel_env) -> None:
    wheel, _ = wheel_env
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in (
        "atmp/rules/ontology/atmp.ttl",
        "atmp/rules/shapes/product-shapes.ttl",
        "atmp/rules/catalogue/products.json",
        "atmp/rules/schemas/product-card.schema.json",
        "atmp/rules/schemas/result.schema.json",
        "atmp/rules/words/report.json",
        "atmp/rules/words/explain.json",
    ):
        assert required in names
    assert any(n.startswith("atmp/rules/queries/") and n.endswith(".rq") for n in names)
    assert any(n.startswith("atmp/rules/ontology/qc/") and n.endswith("-violation.rq") for n in names)


def test_installed_package_is_not_the_checkout(wheel_env, tmp_path) -> None:
    _, env_dir = wheel_env
    where = subprocess.run(
        [str(env_dir / "bin" / "python"), "-c", "import atmp, atmp.core.rules.resources as r; print(atmp.__file__); print(r.ontology_file())"],
        capture_output=True,
        text=True,
        env=_clean_env(),
        cwd=tmp_path,
        check=True,
    ).stdout.split()
    assert all(str(env_dir) in p for p in where), where


@pytest.mark.parametrize(
    "command",
    [
        ("classify", "{cards}"),
        ("classify", "{cards}", "--format", "table"),
        ("whatif", "{cards}", "--id", "holoclar", "--format", "table", "--lang", "zh", "--brief"),
        ("validate", "{cards}"),
        ("query", "nmpa-class-counts", "--format", "json"),
        ("query", "products-by-nmpa-subclass", "--param", "subclass=viral_vector_gtmp", "--format", "csv"),
    ],
)
def test_installed_answers_equal_the_checkout(wheel_env, tmp_path, command) -> None:
    _, env_dir = wheel_env
    local = tmp_path / "cards.json"
    local.write_bytes(CARDS.read_bytes())
    installed = run_installed(env_dir, *(a.format(cards=local) for a in command), cwd=tmp_path)
    checkout = run_checkout(*(a.format(cards=CARDS) for a in command))
    assert installed.returncode == checkout.returncode, installed.stderr
    assert installed.returncode in (0, 1), installed.stderr
    if "--format" in command and command[command.index("--format") + 1] == "json" or command[0] in ("classify", "validate") and "--format" not in command:
        assert json.loads(installed.stdout) == json.loads(checkout.stdout)
    else:
        assert installed.stdout == checkout.stdout


def test_installed_qc_passes(wheel_env, tmp_path) -> None:
    _, env_dir = wheel_env
    done = run_installed(env_dir, "qc", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr

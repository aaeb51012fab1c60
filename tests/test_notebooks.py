"""The notebooks run from a clean kernel without errors, show what they promise, and are committed without outputs."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from .conftest import catalogue_size

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
TIMEOUT = 300  # per cell; each notebook takes well under a minute on the CI machine
KERNEL = "atmp-test-python"


@pytest.fixture(scope="module")
def kernel_name(tmp_path_factory, monkeypatch_module):
    """A kernelspec that runs this interpreter (the venv's), found first on JUPYTER_PATH whatever else is installed."""
    root = tmp_path_factory.mktemp("jupyter")
    spec = root / "kernels" / KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "ATMP-KG test kernel",
                "language": "python",
            }
        )
    )
    monkeypatch_module.setenv("JUPYTER_PATH", str(root))
    monkeypatch_module.delenv("MPLBACKEND", raising=False)  # the inline backend, as in Jupyter
    return KERNEL


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


def execute(name: str, kernel: str) -> tuple[nbformat.NotebookNode, float]:
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    start = time.perf_counter()
    NotebookClient(nb, kernel_name=kernel, timeout=TIMEOUT, resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    return nb, time.perf_counter() - start


def texts(nb) -> str:
    out = []
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            if o.output_type == "stream":
                out.append(o.text)
            elif o.output_type in ("execute_result", "display_data"):
                out.append(o.data.get("text/plain", ""))
                out.append(o.data.get("text/html", ""))
            elif o.output_type == "error":
                out.append("\n".join(o.traceback))
    return "\n".join(out)


def images(nb) -> int:
    return sum(1 for cell in nb.cells for o in cell.get("outputs", []) if o.output_type == "display_data" and "image/png" in o.data)


def test_borderline_products_notebook(kernel_name):
    nb, seconds = execute("borderline_products.ipynb", kernel_name)
    text = texts(nb)
    assert f"{catalogue_size()} products classified" in text
    assert "products are borderline" in text and "priority_ex_vivo_ctmp_over_gtmp" in text
    assert "艾米迈托赛注射液" in text and "single-field variants" in text
    assert "HighRiskProduct" in text or "LowRiskProduct" in text, "the what-if table names the deciding rule"
    assert images(nb) >= 3, "subclass x tier, criteria heat-map, class x category"
    assert "missing from font" not in text
    assert seconds < 240


def test_rule_change_impact_notebook(kernel_name):
    nb, seconds = execute("rule_change_impact.ipynb", kernel_name)
    text = texts(nb)
    assert "shipped ontology unchanged" in text
    assert "no_substantial_manipulation" in text, "culture expansion no longer substantial takes expanded cells out of N"
    assert "criterion 8 out of medium" in text and "products change" in text
    assert images(nb) >= 2
    assert "missing from font" not in text
    assert seconds < 240


def test_sparql_tour_notebook(kernel_name):
    nb, seconds = execute("sparql_tour.ipynb", kernel_name)
    text = texts(nb)
    assert f"{catalogue_size()} products in the graph" in text and "named queries answered" in text
    assert "viral_vector_gtmp" in text and "EncapsulationTwoMeanings" in text, "subclass listing and the Chinese term search"
    assert "product:amimestrocel" in text
    assert images(nb) >= 1
    assert "missing from font" not in text
    assert seconds < 240


def test_every_notebook_is_executed_by_a_test():
    tested = {"borderline_products.ipynb", "rule_change_impact.ipynb", "sparql_tour.ipynb"}
    assert {p.name for p in NOTEBOOKS.glob("*.ipynb")} == tested


@pytest.mark.parametrize("path", sorted(NOTEBOOKS.glob("*.ipynb")), ids=lambda p: p.name)
def test_committed_notebooks_have_no_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{path.name}: strip outputs before committing"
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"

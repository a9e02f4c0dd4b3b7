"""The Python examples run: the demo scenarios, and the notebook executed headless."""

from __future__ import annotations

import importlib.util

import pytest
from conftest import REPO, Upstream

import modelplug

EXAMPLES = REPO / "examples" / "python"


def test_demo_scenarios(upstream: Upstream, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELPLUG_DEMO_UPSTREAM", upstream.url)
    spec = importlib.util.spec_from_file_location("demo", EXAMPLES / "demo.py")
    assert spec and spec.loader
    demo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(demo)
    with modelplug.Client.from_config(demo.CONFIG) as client:
        text = "\n".join(demo.run(client))
    assert "chat     'The capital of France is Paris.' from azure-backup (21 tokens" in text
    assert "openai-primary PROVIDER_UNAVAILABLE → openai-primary PROVIDER_UNAVAILABLE → azure-backup ok" in text
    assert "stream   'The capital of the UK is London.' in 8 pieces from groq (87 tokens)" in text
    assert "tools    the model calls get_user_country({}) [call_iXFttys57ap0o16JSlC8yhYo]" in text
    assert "embed    1 vector of 128 dimensions (4 tokens)" in text
    assert "mock     'no network needed' from the mock provider" in text
    assert "cost     $0.000448 for 5 calls (4 priced by the config's price table)" in text


def test_notebook_executes_headless(upstream: Upstream, monkeypatch: pytest.MonkeyPatch) -> None:
    import nbformat
    from nbclient import NotebookClient

    monkeypatch.setenv("MODELPLUG_DEMO_UPSTREAM", upstream.url)
    nb = nbformat.read(EXAMPLES / "notebook.ipynb", as_version=4)
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(EXAMPLES)}}).execute()
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    html = [o["data"]["text/html"] for o in outputs if "text/html" in o.get("data", {})]
    assert any("The capital of France is Paris." in h for h in html), "the response rendered as HTML"

import pytest

from gradio_servers import VERSIONS, LabServer
from maibot_fake_host import copy_plugin_folder, load_plugin_module


@pytest.fixture(scope="session")
def lab_servers():
    """The lab Gradio app under Gradio 3, 4, 5 and 6, started together (in parallel) on first use."""
    servers = {version: LabServer(version) for version in VERSIONS}
    try:
        for server in servers.values():
            server.wait_ready()
        yield servers
    finally:
        for server in servers.values():
            server.stop()


@pytest.fixture(params=VERSIONS, ids=[f"gradio{v}" for v in VERSIONS])
def lab(request, lab_servers):
    """One lab server per major Gradio version (the test runs once for each)."""
    return lab_servers[request.param]


@pytest.fixture(scope="session")
def plugin_module(tmp_path_factory):
    """plugin.py from a copy of the plugin folder, loaded as MaiBot's runner loads it."""
    return load_plugin_module(copy_plugin_folder(tmp_path_factory.mktemp("plugins")))


@pytest.fixture(autouse=True)
def _forget_refused_openai_fields():
    """The OpenAI backend remembers refused request fields for the process; each test starts clean."""
    from llm2pic.backends import openai

    openai._REFUSED_FIELDS.clear()
    yield
    openai._REFUSED_FIELDS.clear()


@pytest.fixture(autouse=True)
def _restore_log_levels():
    """`main()` sets process-wide logger levels (the chain's to ERROR without -v); a later test that
    reads the chain's log with caplog must not depend on which CLI test ran before it."""
    import logging

    names = ["llm2pic", "llm2pic.backends.chain"]
    levels = {name: logging.getLogger(name).level for name in names}
    yield
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)

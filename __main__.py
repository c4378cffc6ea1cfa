import sys

# httpx's package imports its own command-line client only to offer `httpx.main`, which we never call;
# where click, rich and pygments are installed that costs ~80 ms of every CLI start. A None entry makes
# that import fail, and httpx then defines its documented fallback `main` instead. Only in our own
# process (`python -m llm2pic`), never in a host that imports the plugin.
sys.modules.setdefault("httpx._main", None)

from .frontends.cli.main import main  # noqa: E402 (after the line above, which must run before httpx is imported)

raise SystemExit(main())

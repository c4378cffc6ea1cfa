"""AstrBot 4.x front end: the plugin page's config mapped onto ours, a ChatPort over
`context.send_message`, the prompt LLM over `context.llm_generate`, and the handlers' logic.

Only `chat.py` and `frontend.py` import AstrBot; `config_map.py` is plain Python so our own test
suite checks it without AstrBot installed.
"""

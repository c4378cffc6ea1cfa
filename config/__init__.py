"""config.toml as data. Imports only pydantic, the standard library and the shared root modules.

model.py           the whole file (`Config`) and its small sections; one module per larger section
section.py         `Section`, the one base, and `setting()`: a key's default, checks and zh/en WebUI text
backend_types.py   every backend type: its config class and implementation (a new type is one line)
backend_forms.py   the WebUI's fixed per-type sections, folded into `[[backends]]`
load.py            reading a file: one-line errors naming the key, unknown keys reported
legacy.py, migration.py   classic MaiBot_LLM2pic files; secrets.py: secrets written or named by *_env
"""

"""LLM2Pic: a chat request → an English image prompt → an image backend → an image in the chat.

Nothing may import names from this module: under MaiBot the package root is `plugin.py` and this
file never runs. Import from the module that defines a name instead.
"""

"""Bytes → chat-ready bytes: verification, crop, fit for chat, encode. Pillow work never runs on the
event loop; nothing here touches the network (downloads are the backends' job: backends/download.py).

Import from the defining modules: `from ..imaging.prepare import prepare_for_chat`.
"""

"""Everything between "a backend produced an image (bytes or a URL)" and "base64 ready for
ctx.send.image": safe download, verification, crop, fit for chat, encode. Pillow work never runs
on the event loop.

Import from the defining modules: `from ..imaging.fetch import fetch_image`,
`from ..imaging.prepare import prepare_for_chat`.
"""

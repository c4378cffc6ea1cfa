"""Prompt engine: a chat request (+ recent chat, persona, selfie appearance) → a clean image prompt.

Independent of MaiBot: the LLM is an injected async callable (chat messages → text). The entry point
is `engine.make_image_prompt`; nothing may import names from this package module itself.
"""

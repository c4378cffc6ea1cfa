"""The NoneBot2 front end (OneBot v11): its config, the chat port over the bot, the command handlers.

NoneBot loads the separate top-level package `nonebot_plugin_llm2pic` (in `entry/`), which only wires
NoneBot's matchers to this package. Only this package and that entry import `nonebot`.
"""

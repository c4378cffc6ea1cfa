"""NoneBot's side of LLM2Pic: the driver hooks, the /draw, /selfie and /pic matchers and the optional
natural-language trigger. Each handler hands the event to the front end (llm2pic.frontends.nonebot)
and returns at once; the image follows from the background job."""

from nonebot import get_driver, get_plugin_config, on_command, on_message
from nonebot.adapters.onebot.v11 import Bot, Message, MessageEvent
from nonebot.params import CommandArg
from nonebot.rule import Rule

from llm2pic.frontends.nonebot.runtime import Runtime
from llm2pic.frontends.nonebot.settings import PluginConfig

settings = get_plugin_config(PluginConfig)
runtime = Runtime()
driver = get_driver()


@driver.on_startup
async def _start() -> None:
    await runtime.start(settings.llm2pic_config)


@driver.on_shutdown
async def _stop() -> None:
    await runtime.stop()


def _command(name: str):
    # force_whitespace: "/drawing" is not "/draw ing"
    return on_command(name, rule=Rule(runtime.commands_on), force_whitespace=True, priority=10, block=True)


draw = _command("draw")
selfie = _command("selfie")
pic = _command("pic")


@draw.handle()
async def _draw(bot: Bot, event: MessageEvent, args: Message = CommandArg()) -> None:
    await runtime.draw(bot, event, args.extract_plain_text().strip())


@selfie.handle()
async def _selfie(bot: Bot, event: MessageEvent, args: Message = CommandArg()) -> None:
    await runtime.selfie(bot, event, args.extract_plain_text().strip())


@pic.handle()
async def _pic(bot: Bot, event: MessageEvent, args: Message = CommandArg()) -> None:
    words = args.extract_plain_text().split()
    await runtime.pic(bot, event, words[0] if words else "help")


# "画一张……" without a command, when [components] trigger_phrases lists phrases (off by default).
# After the commands (priority 10), before most chat plugins; blocks only a message it takes.
natural = on_message(rule=Rule(runtime.wants_to_draw), priority=50, block=True)


@natural.handle()
async def _natural(bot: Bot, event: MessageEvent) -> None:
    await runtime.natural(bot, event)

"""AstrBot entry: AstrBot loads `data/plugins/<this folder>/main.py` as a module of the folder's
package, so the imports below are relative like everywhere else. MaiBot (plugin.py) and the CLI
never import this file.

AstrBot binds handlers to the Star defined in this very module, so the class lives here and each
handler hands its event to the front end in frontends/astrbot/.
"""

from __future__ import annotations

from astrbot.api import AstrBotConfig
from astrbot.api.event import AstrMessageEvent, filter
from astrbot.api.star import Context, Star, StarTools

from .frontends.astrbot.frontend import AstrBotFrontend, command_text

PLUGIN_NAME = "llm2pic"  # metadata.yaml `name`


class LLM2PicPlugin(Star):
    def __init__(self, context: Context, config: AstrBotConfig | None = None) -> None:
        super().__init__(context)
        self.frontend = AstrBotFrontend(context, config if config is not None else {},
                                        StarTools.get_data_dir(PLUGIN_NAME), self.logger)

    async def initialize(self) -> None:
        await self.frontend.start()

    async def terminate(self) -> None:
        await self.frontend.stop()

    @filter.llm_tool(name="draw_picture")
    async def draw_picture(self, event: AstrMessageEvent, description: str = "", selfie_mode: bool = False,
                           aspect: str = "") -> str:
        """画图/发图片/自拍：只有当有人明确要你画一张图、发一张图片或照片、来张自拍时才调用；普通聊天、讨论图片、让你看图或评价图片时不要调用。调用后图片会在后台画好自动发出，不要重复调用。Draw and send a picture (or a selfie of yourself) ONLY when someone explicitly asks for one; the picture is sent automatically, call once.

        Args:
            description(string): 要画的内容，用对方的原话或简短概括 (what to draw, in the requester's words)
            selfie_mode(boolean): 对方要的是你自己的照片/自拍时为 true (true for a picture of yourself)
            aspect(string): 画面比例，只在对方提到横图/竖图/比例时填，如 16:9、3:4 (aspect ratio, only when asked)
        """
        return await self.frontend.tool(event, description, selfie_mode, aspect)

    @filter.command("draw")
    async def draw(self, event: AstrMessageEvent):
        """/draw <描述>：按描述直接画一张"""
        await self.frontend.draw(event, command_text(event, "draw"), selfie=False)
        event.stop_event()

    @filter.command("selfie")
    async def selfie(self, event: AstrMessageEvent):
        """/selfie [场景]：来张自拍"""
        await self.frontend.draw(event, command_text(event, "selfie"), selfie=True)
        event.stop_event()

    @filter.command("pic")
    async def pic(self, event: AstrMessageEvent):
        """/pic help|status|again：画图帮助、状态、再画一张"""
        await self.frontend.pic(event, command_text(event, "pic"))
        event.stop_event()

"""The plugin's own chat sentences (Chinese, persona-neutral). Backend failures bring their own
sentence (`BackendError.user_message`); refusals by the limits bring theirs (`Refusal.user_message`)."""

from __future__ import annotations

import math
from typing import Optional, Sequence

CRASHED = "画图的时候出了点问题，没画成，稍后再试试吧。"
NOT_DELIVERED = "图画好了，但是没发出去，稍后再试试吧。"
CHAT_BUSY = "这里排队的画太多了，等前面的画完再来吧。"
NOTHING_TO_REPEAT = "这里还没有画过图，先用 /draw 画一张吧。"
EMPTY_DRAW = "要画什么呢？用法：/draw 一只戴帽子的橘猫"
DISABLED = "画图功能没有开启。"
SHUTTING_DOWN = "画图插件正在重新加载，稍后再试吧。"
CONFIG_BROKEN = "画图插件的配置有误，暂时画不了，请管理员看一下日志。"

HELP = """画图插件用法：
/draw <描述>  按描述画一张，如 /draw 夕阳下的橘猫
/selfie [场景]  来张自拍，如 /selfie 在海边
/pic again  同样的描述换个随机种子再画一张
/pic status  画图服务状态、排队情况和你今天还能画几张
/pic help  显示这段说明
也可以直接在聊天里说“画一张……”“来张自拍”。"""


def ack(message: str, waiting_ahead: int) -> str:
    """The acknowledgement; says how many of this chat's pictures are ahead, when any."""
    if waiting_ahead <= 0:
        return message
    return f"{message}（前面还有 {waiting_ahead} 张在排队）"


def space_queue(rank: int, eta: Optional[float]) -> str:
    """The one notice about a long queue at the image service."""
    wait = f"，大约要等 {_duration(eta)}" if eta and eta > 0 else ""
    return f"画图服务在排队，前面还有 {rank} 个人{wait}，画好马上发。"


def status(backend_lines: Sequence[str], running: int, waiting: int, chat_waiting: int,
           quota_line: str) -> str:
    lines = ["画图服务："] + [f"  {line}" for line in backend_lines or ["没有启用任何后端"]]
    lines.append(f"正在画 {running} 张，排队 {waiting} 张（这个聊天 {chat_waiting} 张）")
    lines.append(quota_line)
    return "\n".join(lines)


def quota(user_left: Optional[int], group_left: Optional[int], cooldown_left: float, *,
          user_known: bool, in_group: bool) -> str:
    parts = []
    if user_known:
        parts.append("你今天还能画 " + ("不限" if user_left is None else f"{user_left} 张"))
    if in_group:
        parts.append("这个群今天还能画 " + ("不限" if group_left is None else f"{group_left} 张"))
    if cooldown_left > 0:
        parts.append(f"冷却中，约 {_duration(cooldown_left)}后可以再画")
    return "，".join(parts)


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{max(1, math.ceil(seconds))} 秒"
    return f"{math.ceil(seconds / 60)} 分钟"

"""Every sentence the chat can hear (Chinese, persona-neutral), in one place: the job's own words,
what each kind of error says (`errors.py` takes its defaults from here), and admission refusals.

Nothing here is upstream text: a sentence names a wait or a count at most, never a server's words.
Standard library only, so every layer may use it."""

from __future__ import annotations

import math
from typing import Optional, Sequence

CRASHED = "画图的时候出了点问题，没画成，稍后再试试吧。"
NOT_DELIVERED = "图画好了，但是没发出去，稍后再试试吧。"
CHAT_BUSY = "这里排队的画太多了，等前面的画完再来吧。"
NOTHING_TO_REPEAT = "这里还没有画过图，先用 /draw 画一张吧。"
EMPTY_DRAW = "要画什么呢？用法：/draw 一只戴帽子的橘猫"
SHUTTING_DOWN = "画图插件正在重新加载，稍后再试吧。"
CONFIG_BROKEN = "画图插件的配置文件有误，暂时不能画图，请管理员查看日志。"

# --- what an error says (errors.py: each family's default; backends pick the specific ones) ---------
ERROR = "画图服务出了点问题，稍后再试试吧。"
UNAVAILABLE = "画图服务暂时不可用，稍后再试试吧。"
QUOTA_USED_UP = "免费额度用完了，晚点再试吧。"
CONTENT_REJECTED = "这个画不了，换个内容试试吧。"
MISCONFIGURED = "画图服务配置有误，请管理员检查一下。"
NOT_UNDERSTOOD = "画图服务返回了看不懂的结果，稍后再试试吧。"
IMAGING_FAILED = "图片处理失败了，稍后再试试吧。"
UNSAFE_IMAGE_ADDRESS = "图片地址不安全，已拒绝下载。"
DEADLINE = "画图超时了，稍后再试试吧。"
OUTCOME_UNKNOWN = "请求已经发出但没有收到结果，可能已经扣费；为避免重复扣费没有自动重试，请稍后再试。"
DOWNLOAD_LOST = "图已经画好了，但下载失败；为避免重复扣费没有自动重画，请稍后再试。"
NO_BACKEND = "没有启用任何画图后端，请管理员检查配置。"
SPACE_STARTING = "画图服务正在启动，稍后再试试吧。"
UNREACHABLE = "连不上画图服务，稍后再试试吧。"
MODEL_LOADING = "模型正在加载，稍后再试试吧。"
OUT_OF_MEMORY = "显存不足，画不了这么大的图；请管理员调小尺寸（像素预算）或稍后再试。"
COMFYUI_WORKFLOW_FAILED = "ComfyUI 运行工作流时出错，请管理员查看日志。"
COMFYUI_WORKFLOW_INVALID = "ComfyUI 工作流配置有误（节点校验失败），请管理员查看日志。"
NOTHING_TO_DRAW = "想画点什么呢？说具体一点吧～"
PROMPT_REFUSED = "这个内容不太合适，换个别的吧～"


def quota_used_up(retry_after: Optional[float]) -> str:
    """Quota exhausted; says when it comes back when the server said so."""
    if retry_after and retry_after > 0:
        return f"免费额度用完了，约 {max(1, math.ceil(retry_after / 60))} 分钟后再试。"
    return QUOTA_USED_UP


def all_paused(wait: float) -> str:
    """Every backend is paused by its circuit breaker."""
    return f"画图服务暂时都不可用，约 {max(1, math.ceil(wait / 60))} 分钟后再试。"


def backend_ready(name: str, recent_failures: int) -> str:
    """A /pic status line for a backend that will be tried."""
    return f"{name}：正常" if not recent_failures else f"{name}：可用（最近连续失败 {recent_failures} 次）"


def backend_paused(name: str, seconds_left: float, why: str) -> str:
    """A /pic status line for a paused backend; why: "quota", "rate" or "failures"."""
    reason = {"quota": "额度用完", "rate": "服务端要求稍后再试"}.get(why, "连续失败")
    return f"{name}：暂停中，约 {max(1, math.ceil(seconds_left / 60))} 分钟后恢复（{reason}）"


# --- admission refusals (drawing/admission.py) ------------------------------------------------------
CHAT_NOT_ALLOWED = "这里没有开放画图功能哦"
PRIVATE_NOT_ALLOWED = "私聊里不能画图哦，请在群里使用"
USER_QUOTA_USED_UP = "今天的画图次数用完了，明天再来吧"
GROUP_QUOTA_USED_UP = "本群今天的画图次数用完了，明天再来吧"


def quiet_hours(span: str) -> str:
    """Quiet hours, `span` "HH:MM-HH:MM" (or "" when unknown)."""
    shown = f"（{span}）" if span else ""
    end = span.rsplit("-", 1)[-1] if span else ""
    return f"现在是休息时间{shown}，{end} 以后再来吧" if end else f"现在是休息时间{shown}，晚点再来吧"


def cooldown(seconds: Optional[float]) -> str:
    return f"画得太快啦，{_about(seconds)}后再来～"


def _about(seconds: Optional[float]) -> str:
    if seconds is None:
        return "稍等一会儿"
    return f"约 {_duration(seconds)}"


# --- the job's own words ----------------------------------------------------------------------------
HELP = """画图插件用法：
/draw <描述>  按描述画一张，如 /draw 夕阳下的橘猫
/selfie [场景]  来张自拍，如 /selfie 在海边
/pic again [序号]  同样的描述换个随机种子再画一张（序号见 /pic history，默认最近一张）
/pic history  这里最近画过的图（描述、后端、种子、时间）
/pic prompt [序号]  显示最近一张图的完整提示词
/pic style [名字]  设置这里的画风预设；不带名字显示当前画风，/pic style off 取消
/pic styles  列出可用的画风预设
/pic status  画图服务状态、排队情况和你今天还能画几张
/pic help  显示这段说明
也可以直接在聊天里说“画一张……”“来张自拍”；说“横图”“手机壁纸”“16:9”“1920x1080”会换画面比例，说“用水彩风格画……”会用同名的画风预设。"""


def acknowledgement(message: str, waiting_ahead: int) -> str:
    """The acknowledgement; says how many of this chat's pictures are ahead, when any."""
    if waiting_ahead <= 0:
        return message
    return f"{message}（前面还有 {waiting_ahead} 张在排队）"


def space_queue_notice(rank: int, eta: Optional[float]) -> str:
    """The one notice about a long queue at the image service."""
    wait = f"，大约要等 {_duration(eta)}" if eta and eta > 0 else ""
    return f"画图服务在排队，前面还有 {rank} 个人{wait}，画好马上发。"


def status_text(backend_lines: Sequence[str], running: int, waiting: int, chat_waiting: int,
           quota_line: str) -> str:
    lines = ["画图服务："] + [f"  {line}" for line in backend_lines or ["没有启用任何后端"]]
    lines.append(f"正在画 {running} 张，排队 {waiting} 张（这个聊天 {chat_waiting} 张）")
    lines.append(quota_line)
    return "\n".join(lines)


def quota_line(user_left: Optional[int], group_left: Optional[int], cooldown_left: float, *,
          user_known: bool, in_group: bool) -> str:
    parts = []
    if user_known:
        parts.append("你今天还能画 " + ("不限" if user_left is None else f"{user_left} 张"))
    if in_group:
        parts.append("这个群今天还能画 " + ("不限" if group_left is None else f"{group_left} 张"))
    if cooldown_left > 0:
        parts.append(f"冷却中，约 {_duration(cooldown_left)}后可以再画")
    return "，".join(parts)


def zero_gpu_quota(remaining: float, total: float, reset_in: Optional[float], whose: str = "") -> str:
    """A /pic status line: the ZeroGPU seconds left today on a token (`whose`: the backends that spend it)."""
    text = f"ZeroGPU 额度{f'（{whose}）' if whose else ''}：今天还剩 {remaining:.0f} 秒（共 {total:.0f} 秒）"
    return text + (f"，约 {_duration(reset_in, hours=True)}后重置" if reset_in is not None else "")


def zero_gpu_quota_unknown(whose: str = "") -> str:
    return f"ZeroGPU 额度{f'（{whose}）' if whose else ''}：暂时查不到"


def _duration(seconds: float, *, hours: bool = False) -> str:
    """"N 秒" under a minute, else minutes (rounded up); with `hours`, "H 小时 M 分钟" past an hour."""
    if seconds < 60 and not hours:
        return f"{max(1, math.ceil(seconds))} 秒"
    minutes = math.ceil(seconds / 60)
    if hours and minutes >= 60:
        return f"{minutes // 60} 小时 {minutes % 60} 分钟"
    return f"{minutes} 分钟"


# --- several images and reference images --------------------------------------------------------------
def images_note(granted: int, asked: int, requested: int, cap: int) -> str:
    """What the acknowledgement adds for a request of several images: how many will be drawn, and
    why fewer than asked (the per-request cap, or today's quota). "" for one image asked and drawn."""
    parts = []
    if granted > 1:
        parts.append(f"画 {granted} 张")
    if requested > cap:
        parts.append(f"一次最多 {cap} 张")
    if granted < asked:
        parts.append(f"今天的额度只够画 {granted} 张")
    return "（" + "，".join(parts) + "）" if parts else ""


# --- reference images and several images (imaging/reference.py, backends/chain.py) -----------------
REFERENCE_UNUSABLE = "这张参考图用不了，换一张试试吧。"
REFERENCE_TOO_BIG = "参考图太大了，换一张小一点的图吧。"
REFERENCE_NOT_IMAGE = "发来的不是能识别的图片，换一张试试吧。"
REFERENCE_UNSAFE_ADDRESS = "这张图片的地址不安全，已拒绝下载。"
REFERENCE_DOWNLOAD_FAILED = "参考图下载失败了，稍后再试试吧。"
NO_REFERENCE_BACKEND = "现在能用的画图服务都不支持参考图，没法照着图片画，可以换成文字描述再试试。"


def too_many_references(limit: int) -> str:
    return f"参考图太多了，一次最多 {limit} 张。"


def backend_skipped_for_references(name: str) -> str:
    """A progress note: this backend cannot take the job's reference images."""
    return f"{name} 不支持参考图，跳过"


def images_so_far(done: int, wanted: int) -> str:
    """A progress note while several images are drawn one call at a time."""
    return f"已画好 {done}/{wanted} 张"


def images_partial(done: int, wanted: int) -> str:
    """A progress note when a later image failed and the job ends with those already drawn."""
    return f"只画好了 {done}/{wanted} 张，其余的没画成"


# --- /pic history, again N, prompt ------------------------------------------------------------------
def no_such_drawing(number: int, count: int) -> str:
    """/pic again N or /pic prompt N with a number the history does not have."""
    if count <= 0:
        return NOTHING_TO_REPEAT
    return f"没有第 {number} 张，这里最近画过 {count} 张，用 /pic history 看看序号。"


def history_text(lines: Sequence[tuple[str, str, Optional[int], str, str]]) -> str:
    """/pic history: (when "HH:MM", backend, seed, preset, prompt) newest first, numbered for /pic again N."""
    if not lines:
        return NOTHING_TO_REPEAT
    out = ["最近画过的图（/pic again 序号 重画，/pic prompt 序号 看完整提示词）："]
    for number, (when, backend, seed, preset, prompt) in enumerate(lines, 1):
        shown = prompt if len(prompt) <= 60 else prompt[:60] + "…"
        extra = "，".join(part for part in (backend, f"种子 {seed}" if seed is not None else "",
                                           f"画风 {preset}" if preset else "") if part)
        out.append(f"{number}. [{when}] {shown}（{extra}）" if extra else f"{number}. [{when}] {shown}")
    return "\n".join(out)


def prompt_text(prompt: str, negative: str, aspect: str, backend: str, seed: Optional[int], preset: str) -> str:
    """/pic prompt: the whole prompt of one drawing."""
    lines = [f"提示词：{prompt}"]
    if negative:
        lines.append(f"负面提示词：{negative}")
    facts = [f"比例 {aspect}", backend, f"种子 {seed}" if seed is not None else "", f"画风 {preset}" if preset else ""]
    lines.append("，".join(fact for fact in facts if fact))
    return "\n".join(lines)


BAD_NUMBER = "序号要写数字，比如 /pic again 2"

# --- /pic style, styles -----------------------------------------------------------------------------
NO_STYLES = "还没有配置画风预设，请管理员在配置的 [styles] 里添加。"
STYLE_CLEARED = "已取消这里的画风预设，之后按默认画风画。"
NO_STYLE_SET = "这里没有设置画风预设。用 /pic styles 看看有哪些，/pic style 名字 来设置。"


def style_set(name: str) -> str:
    return f"好的，这里之后画图都用“{name}”画风。/pic style off 取消。"


def current_style(name: str, available: bool) -> str:
    if not available:
        return f"这里设置的画风“{name}”已经不在配置里了，现在按默认画风画。/pic styles 看看有哪些。"
    return f"这里现在用“{name}”画风。/pic style off 取消。"


def unknown_style(name: str, names: Sequence[str]) -> str:
    if not names:
        return NO_STYLES
    return f"没有叫“{name}”的画风，可选：{'、'.join(names)}"


def styles_text(presets: Sequence[tuple[str, str, Sequence[str]]], current: str) -> str:
    """/pic styles: (name, description, aliases) each, the chat's current one marked."""
    if not presets:
        return NO_STYLES
    out = ["可用的画风预设（/pic style 名字 设置，或者说“用某某风格画……”）："]
    for name, description, aliases in presets:
        also = f"（也叫 {'、'.join(aliases)}）" if aliases else ""
        mark = " ← 当前" if name == current else ""
        out.append(f"- {name}{also}{'：' + description if description else ''}{mark}")
    return "\n".join(out)

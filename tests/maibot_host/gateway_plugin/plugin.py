"""The chat platform of the end-to-end test, as a MaiBot adapter plugin (duplex message gateway).

It talks to the test through files in `<instance>/e2e/`:
- `inbox/*.json`: each file is one standard message dict; the gateway routes it into the host
  (`ctx.gateway.route_message`) and renames it to `*.routed` (or `*.rejected` with the reason);
- `outbox.jsonl`: every message the host sends out through the gateway, one JSON object per line
  (`{"time", "route", "message"}`; image segments carry `binary_data_base64`);
- `gateway.ready`: written once the host accepted the gateway's ready state.
"""

import asyncio
import json
import time
from pathlib import Path

from maibot_sdk import MaiBotPlugin, MessageGateway

GATEWAY = "e2e_chat"
PLATFORM = "qq"
BOT_ACCOUNT = "10001"
EXCHANGE = Path(__file__).resolve().parents[2] / "e2e"


class ChatGatewayPlugin(MaiBotPlugin):
    def __init__(self) -> None:
        super().__init__()
        self._task = None

    async def on_load(self) -> None:
        (EXCHANGE / "inbox").mkdir(parents=True, exist_ok=True)
        self._task = asyncio.create_task(self._run())

    async def on_unload(self) -> None:
        if self._task is not None:
            self._task.cancel()

    async def on_config_update(self, scope, config_data, version) -> None:
        pass

    async def _run(self) -> None:
        # The host may not know the gateway yet while on_load runs: retry until it is accepted.
        while True:
            try:
                if await self.ctx.gateway.update_state(GATEWAY, ready=True, platform=PLATFORM, account_id=BOT_ACCOUNT):
                    break
            except Exception as exc:  # not registered yet
                self.ctx.logger.info(f"gateway not ready yet: {exc}")
            await asyncio.sleep(0.2)
        (EXCHANGE / "gateway.ready").write_text(str(time.time()))
        while True:
            for path in sorted((EXCHANGE / "inbox").glob("*.json")):
                await self._route(path)
            await asyncio.sleep(0.1)

    async def _route(self, path: Path) -> None:
        message = json.loads(path.read_text(encoding="utf-8"))
        try:
            accepted = await self.ctx.gateway.route_message(GATEWAY, message)
            reason = "" if accepted else "host did not accept the message"
        except Exception as exc:
            accepted, reason = False, str(exc)
        if accepted:
            path.rename(path.with_suffix(".routed"))
        else:
            path.with_suffix(".rejected").write_text(reason, encoding="utf-8")
            path.unlink()

    @MessageGateway("duplex", name=GATEWAY, platform=PLATFORM, protocol="e2e-files")
    async def e2e_chat(self, message=None, route=None, metadata=None, **kwargs):
        record = {"time": time.time(), "route": route, "message": message}
        with open(EXCHANGE / "outbox.jsonl", "a", encoding="utf-8") as outbox:
            outbox.write(json.dumps(record, ensure_ascii=False) + "\n")
        return {"success": True, "external_message_id": f"out-{time.monotonic_ns()}"}


def create_plugin():
    return ChatGatewayPlugin()

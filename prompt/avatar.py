"""Whether a request asks to draw from the requester's own avatar ("用我的头像画一张…"); the front end
then asks its host for the avatar (where the host exposes one) and passes it as a reference image."""

from __future__ import annotations

import re

_AVATAR = re.compile(r"(?:我的?|俺的?|自己的?)\s*(?:qq\s*)?头像|my\s+(?:own\s+)?(?:avatar|profile\s+(?:picture|photo|pic)|pfp)",
                     re.I)


def wants_own_avatar(text: str) -> bool:
    return bool(_AVATAR.search((text or "")[:2000]))

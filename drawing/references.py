"""The job's images from the chat made safe before anything else runs: each raw source (bytes,
base64, a data URL, an http(s) URL) goes through `imaging/reference.py` (size and pixel caps, a real
decode, metadata stripped, downloads never to a private address). A refused image stops the job with
one clear sentence (ReferenceImageError) before the prompt LLM or any backend is asked.

Images and their URLs are never logged here: only how many there were and why one was refused.
"""

from __future__ import annotations

import logging
from typing import Optional, Sequence

from ..imaging.workers import ImageWorkers
from ..prompt.types import ReferenceSource

log = logging.getLogger(__name__)


async def safe_references(sources: Sequence[ReferenceSource], workers: Optional[ImageWorkers] = None
                          ) -> tuple[bytes, ...]:
    """The cleaned bytes of each source, in order; () when there are none. Raises ReferenceImageError."""
    if not sources:
        return ()
    # Imported here: a job without references never loads the reference modules (nor httpx's client).
    from ..backends.reference_fetch import reference_fetcher
    from ..imaging.reference import load_references

    # URLs (a reply's picture, an avatar) are downloaded under the safe-download rules, each with a
    # short-lived client that carries no backend's credentials.
    references = await load_references(list(sources), fetch=reference_fetcher(), workers=workers)
    log.info("drawing from %d reference image(s) from the chat", len(references))
    return references

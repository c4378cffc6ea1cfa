"""ComfyUI backend: an API-format workflow queued through /prompt, followed over /ws or /history."""

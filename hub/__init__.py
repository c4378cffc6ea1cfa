"""Hugging Face Hub tooling: `python -m llm2pic space deploy|status|quota` and the ZeroGPU quota reading.

Nothing here imports huggingface_hub at module level, so the plugin never pays for it at start-up."""

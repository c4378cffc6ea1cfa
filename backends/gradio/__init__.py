"""Gradio backend."""

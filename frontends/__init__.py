"""The front ends: thin adapters from a chat host (or the command line) to the drawing core."""

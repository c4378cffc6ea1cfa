"""Thin front ends: each adapts one chat framework (or the command line) to the drawing core."""

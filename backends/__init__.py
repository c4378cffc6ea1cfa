"""Image backends: one interface (base.py), one file or package per protocol."""

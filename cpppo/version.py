"""The package version, in one place (pyproject.toml reads it from here)."""

__version__ = "6.0.0.dev0"
__version_info__ = (6, 0, 0)

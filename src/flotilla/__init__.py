"""Flotilla: operate many Kubernetes clusters as one fleet."""

__version__ = "0.1.0"
__all__ = ["__version__"]

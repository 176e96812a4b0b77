"""The SDK's version, reported as the instrumentation scope version and a resource attribute."""

__version__ = "0.1.0"

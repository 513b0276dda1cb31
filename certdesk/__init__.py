"""certdesk: a desktop manager for trusted TLS certificates across scopes."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("certdesk")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

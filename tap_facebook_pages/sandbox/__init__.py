"""Offline Graph API sandbox: a local HTTP server with deterministic fake Page data.

Start it in-process with ``SandboxServer().start()`` or as a process with
``python -m tap_facebook_pages.sandbox --port N``.
"""

from tap_facebook_pages.sandbox.server import SandboxServer, appsecret_proof

__all__ = ["SandboxServer", "appsecret_proof"]

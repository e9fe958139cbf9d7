"""The wire: message frames (protocol), sockets (transport), CurveZMQ (security)."""

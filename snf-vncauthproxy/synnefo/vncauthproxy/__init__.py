"""snf-vncauthproxy: one-time, password-protected VNC forwardings for API nodes.

A control channel (TCP, optionally TLS) takes one JSON request per
connection in the format of GRNET's snf-vncauthproxy 1.7 and answers with
one JSON object; each forwarding waits for one client, authenticates it with
standard VNC authentication against the one-time password, connects to the
instance's VNC server without authentication and relays (plain TCP, or
WebSocket for browsers). See docs/console.rst.
"""

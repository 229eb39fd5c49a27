"""The control protocol: JSON over a websocket on a Unix socket (server, client, wire rules)."""

"""inbox: a small Django Channels app, the harness's second example (not the reference).

Members (UUID ids, Django session login) keep a WebSocket open and get live events: notes
shared with them, badges, announcements. Pushes travel only through the Redis channel
layer (no HTTP notify endpoint); the server welcomes a connection after the client's hello.
"""

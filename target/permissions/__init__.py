"""The permissions app: models, WebSocket consumers, push notifications and the HTTP API."""

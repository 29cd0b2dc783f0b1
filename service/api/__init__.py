"""The web layer: HTTP routes, their schemas and errors, the streams and the chat page."""

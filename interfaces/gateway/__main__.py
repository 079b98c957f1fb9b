"""``python -m interfaces.gateway``: serve on ``DAIBAN_GATEWAY_HOST:DAIBAN_GATEWAY_PORT``."""

from interfaces.gateway.app import serve

serve()

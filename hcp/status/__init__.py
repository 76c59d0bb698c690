"""`hcp status`: the platform's live state read from the topics (board), drawn with rich (render)."""

from hcp.status.board import StatusBoard
from hcp.status.render import render_board

__all__ = ["StatusBoard", "render_board"]

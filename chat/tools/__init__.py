"""Tools a turn's model may call: the built-in ones (``builtin.py``) and those of MCP servers (``mcp.py``).

``toolset_for`` gives the tools a chat model may use; ``chat.turns.tooling`` runs the calls.
"""

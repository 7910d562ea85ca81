"""One chat turn: its typed events, the task that runs it, and the control that stops it."""

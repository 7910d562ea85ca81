"""The HTTP doors: the JSON and SSE API, the OpenAI-compatible /v1, and the browser pages."""

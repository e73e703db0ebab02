"""The web application and HTTP API (`souverain serve`): Starlette on uvicorn."""

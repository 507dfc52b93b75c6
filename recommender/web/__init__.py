"""Server-rendered pages, one module per page; each view parses, calls a shared function, renders."""

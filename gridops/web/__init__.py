"""The HTTP adapter: the app factory, the one mapping of errors to problem details, the
API blueprints with their schemas, the pages, their templates and static files."""

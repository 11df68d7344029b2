"""The API's request and response schemas, one module per resource: they validate what
comes in, shape what goes out, and are what /api/v1/openapi.json is generated from."""

"""Pure geometry and spatial analysis for gridops.

Nothing here knows Flask, HTTP or the database: every function takes and returns
plain values, arrays or shapely geometries, so it can be tested and benchmarked
alone. The rest of gridops imports this package, never the reverse.
"""

"""What every capability stands on: configuration, the database engine and schema
migrations, the models, column types, the clock, and domain errors (no Flask here)."""

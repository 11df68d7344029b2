"""The reference data routing and deadlines read on every report — categories,
holiday calendars and working time, workers, assignments, shifts, the street
network — held per process and re-read when its stamp moves."""

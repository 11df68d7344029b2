"""Work on the ground: a worker's tasks, patrol registers and visits (走访), where
workers are, and the sweep that watches due work."""

"""Planners redraw a community: drafts generated or rebalanced, edited, checked
against the bounds, their impact on people and work, and published as a version."""

"""Scoring: features to answers (`decisions`), the routing policy, the calendar gap, the
backfill; `service` scores points for the routes of `views`."""

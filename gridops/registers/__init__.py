"""The ground truth kept live by the people whose job it is: workers and their assignments, rosters,
holiday calendars, categories, buildings and households, special-group registers — each change dated,
checked and written to the audit trail in the same transaction (issue 13); and the QR door labels a
building's keepers print (labels).

Routing and deadlines read this data through gridops.reference (one copy per process, re-read when
the reference stamp moves), so a change here is used by every process for the next report.
"""

"""Reports in, many per transaction: decided (checked, placed, duplicates found, routed), then
stored, by one writer thread per process (group commit).

Nothing lost, nothing doubled: an Idempotency-Key's record is written in the same
transaction as the report; the request gets its answer only once that is committed.

- `submission`: what comes in (NewReport, Submission) and what goes out (Outcome);
- `decide`: validate, locate, find duplicates (`duplicates`), route;
- `store`: the batch's rows in few statements, and each report's answer;
- `take`: a batch taken in, in the caller's transaction (`take_in`, `report`);
- `writer`: the thread that drains the queue (`IntakeQueue`).
"""

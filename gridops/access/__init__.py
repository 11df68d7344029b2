"""Who may do what: users and their tokens, the signed-in principal, the one table
of roles and what each may do, and the masking of phone and ID numbers."""

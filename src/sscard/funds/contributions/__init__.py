"""Contributions (缴费): insured persons and their schemes, monthly assessments, bank withholding with return
processing, arrears and suspension, employer contribution files, and the ledger postings of every payment."""

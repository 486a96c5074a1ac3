"""Benefits (待遇发放): entitlements, eligibility (certification, death data), monthly disbursement batches to the
card's bank account, the re-issue queue, and what a person was paid (docs/funds.md)."""

"""Medical-insurance real-time settlement (医保即时结算): catalogue, effective-dated policy, the pure split of a bill.

Persistence (settlements, accumulators, reversals) is layered on later; everything here is pure calculation.
"""

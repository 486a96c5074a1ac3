"""Persons (参保人员/持卡人): ID validation (GB 11643-1999), region codes, living status."""

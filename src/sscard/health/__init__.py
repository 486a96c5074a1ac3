"""The residents' health-information index (就诊一卡通 健康信息索引): where a cardholder was seen and where the
documents are, as FHIR R4 ``Encounter`` / ``DocumentReference`` entries keyed by a pseudonymous ``Patient``, read
by another institution only under the holder's consent grant (card + PIN) or a break-the-glass emergency grant.

The index stores no medical record: an entry is a date, an institution, a department, a type, one ICD-10 code and
a link to the document at the hospital that holds it (docs/health-index.md)."""

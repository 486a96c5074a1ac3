"""Transfer of the insurance relationship between cities (社会保险关系转移接续): the pension and medical record
and its money carried from one city's centre to another's by signed messages (docs/transfer.md)."""

"""The move from the old medical cards to the social security card (过渡衔接): the legacy card file (LMC1), its
import with matching and carried balances, the reconciliation report, and the old card number during the
transition window. docs/transition.md."""

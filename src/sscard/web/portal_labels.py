"""What the cardholder's pages (portal, phone, kiosk) call the codes they show, marked for translation and
translated where shown. Insurance types are named as 险种 (基本养老保险), never as the benefit (养老金)."""

from __future__ import annotations

from sscard.web.i18n import N_

INSURANCE = {"pension": N_("Basic pension insurance"), "medical": N_("Basic medical insurance"),
             "unemployment": N_("Unemployment insurance"), "work_injury": N_("Work injury insurance"),
             "maternity": N_("Maternity insurance")}
STANDING = {"paying": N_("Insured, paying"), "suspended": N_("Payments suspended"),
            "stopped": N_("Payments stopped"), "none": N_("Not insured"),
            "insured": N_("Insured")}
PAYER = {"employer": N_("Through the employer"), "self": N_("Paid by yourself")}
SOURCE = {"employer": N_("Employer"), "withholding": N_("Bank withholding")}
CONTRIB_STATUS = {"due": N_("Due"), "sent": N_("Being collected"), "failed": N_("Not collected"),
                  "paid": N_("Paid")}
CERTIFICATE = {"insured": N_("Certificate of social insurance"), "contributions": N_("Contribution statement")}
BUSINESS = {"replacement": N_("Replacement of a lost card"), "exchange": N_("Exchange of the card")}
EXCHANGE_REASON = {"damaged": N_("The card is damaged"), "expired": N_("The card has expired"),
                   "data_changed": N_("My name or other card data changed"),
                   "quality": N_("The card has a quality defect")}
DELIVERY = {"mail": N_("Mail it to me"), "pickup": N_("I collect it at an outlet")}
STEP = {"accepted": N_("Application accepted"), "making": N_("Card being made"), "made": N_("Card made"),
        "at_outlet": N_("Card at the outlet (or posted)"), "done": N_("Card handed over")}
SETTLEMENT_STATUS = {"settled": N_("Settled"), "reversed": N_("Reversed")}
BENEFIT_KIND = {"pension": N_("Pension"), "work_injury": N_("Work injury benefit")}

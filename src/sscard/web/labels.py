"""Display names for codes (statuses, roles, reasons), marked for translation and translated where shown."""

from __future__ import annotations

from sscard.access import Role
from sscard.cards.states import AppStatus, Business, CancelReason, ExchangeReason, ProductionStatus, Source
from sscard.registry.regions import DIVISIONS
from sscard.web.i18n import N_

APP_STATUS = {
    AppStatus.SEALED.value: N_("Sealed (not activated)"),
    AppStatus.NORMAL.value: N_("Normal"),
    AppStatus.FORMAL_LOSS.value: N_("Formal loss"),
    AppStatus.LOCKED.value: N_("Locked"),
    AppStatus.TEMP_LOSS.value: N_("Temporary loss"),
    AppStatus.CANCELLED.value: N_("Cancelled"),
    "-": N_("Not issued yet (in production)"),
}
ECARD_STATUS = {
    "active": N_("Active"),
    "suspended": N_("Suspended"),
    "ended": N_("Ended"),
    "none": N_("Not activated"),
}
PRODUCTION_STATUS = {
    ProductionStatus.COLLECTED.value: N_("Application accepted"),
    ProductionStatus.IN_BATCH.value: N_("In a production batch"),
    ProductionStatus.BANK_OPENED.value: N_("Bank account opened"),
    ProductionStatus.BANK_FAILED.value: N_("Bank account opening failed"),
    ProductionStatus.CARD_MADE.value: N_("Card made"),
    ProductionStatus.MAKER_FAILED.value: N_("Card making failed"),
    ProductionStatus.AT_OUTLET.value: N_("Waiting at the outlet"),
    ProductionStatus.PICKED_UP.value: N_("Picked up"),
    ProductionStatus.VOIDED.value: N_("Voided"),
}
ROLE = {Role.COUNTER.value: N_("Counter operator"), Role.SUPERVISOR.value: N_("Supervisor"),
        Role.ADMIN.value: N_("Administrator"), Role.SYSTEM.value: N_("System"),
        Role.CARDHOLDER.value: N_("Cardholder"), Role.ACCOUNTANT.value: N_("Fund accountant")}
RESOLUTION = {"take_register": N_("Take the register's value"), "accept": N_("Accept (the data are right)"),
              "reject": N_("Reject: no card is made"), "send_back": N_("Send back for collection again")}
RECORD_STATUS = {"pending": N_("Pending"), "exception": N_("Exception open"), "approved": N_("Approved"),
                 "rejected": N_("Rejected"), "returned": N_("Sent back")}
# Funds: what the portal shows for their codes.
FUNDS_WHAT = {"pension": N_("Pension"), "medical": N_("Medical insurance"), "unemployment": N_("Unemployment"),
              "work_injury": N_("Work injury benefit"), "lump_sum": N_("One-off benefit"),
              "reimbursement": N_("Medical reimbursement"), "employment_subsidy": N_("Employment subsidy")}
FUNDS_STATUS = {"due": N_("Due"), "sent": N_("Sent to the bank"), "failed": N_("Failed"), "paid": N_("Paid"),
                "in_progress": N_("Being paid"), "reissue_pending": N_("Failed, to be paid again"),
                "no_account": N_("No account to pay into"), "stopped": N_("Stopped")}
BATCH_STAGE = {"created": N_("Created"), "bank_sent": N_("Sent to the bank"),
               "bank_returned": N_("Returned by the bank"), "maker_sent": N_("Sent to the card maker"),
               "maker_returned": N_("Returned by the card maker"), "delivered": N_("Delivered to outlets")}
BUSINESS = {Business.NEW.value: N_("New card"), Business.REPLACEMENT.value: N_("Replacement of a lost card"),
            Business.EXCHANGE.value: N_("Exchange")}
EXCHANGE_REASON = {ExchangeReason.DAMAGED.value: N_("Damaged"), ExchangeReason.EXPIRED.value: N_("Expired"),
                   ExchangeReason.DATA_CHANGED.value: N_("Card data changed"),
                   ExchangeReason.QUALITY.value: N_("Quality defect")}
CANCEL_REASON = {CancelReason.DEATH.value: N_("Death"), CancelReason.EMIGRATION.value: N_("Emigration"),
                 CancelReason.TRANSFER_OUT.value: N_("Transfer out of the city"),
                 CancelReason.REPLACED.value: N_("Replaced"), CancelReason.EXCHANGED.value: N_("Exchanged")}
CANCEL_CHOICES = (CancelReason.DEATH.value, CancelReason.EMIGRATION.value, CancelReason.TRANSFER_OUT.value)
SOURCE = {Source.PERSONAL.value: N_("Personal"), Source.EMPLOYER.value: N_("Through the employer"),
          Source.SCHOOL.value: N_("Through the school")}
FEED_STATUS = {"imported": N_("Imported"), "rejected": N_("Refused")}
FEED_QUEUE = {"exception": N_("Exception"), "review": N_("For review")}
# Why a line of a department's feed waits for a supervisor (sscard.exchange.feeds.service).
FEED_CASE_REASON = {
    "DEATH_DATE_MISMATCH": N_("The two death records give different dates"),
    "EXCHANGE_NOT_OPENED": N_("The card exchange for the new name could not be opened"),
    "ID_NUMBER_CONFLICT": N_("The corrected ID number belongs to another person"),
    "NAME_MISMATCH": N_("The name differs from the register"),
    "NOT_REPORTED_DEAD": N_("Cremated, but not reported dead by public security"),
    "FUNERAL_GRANT": N_("Funeral grant to review"),
    "MOVED_OUT": N_("Moved out of the city"),
    "OVERPAYMENT_RECOVERY": N_("Benefits paid after death, to recover"),
    "SURVIVOR_BENEFIT": N_("Survivor benefit to review"),
}
FEED_RESOLUTION = {"done": N_("Handled"), "dismiss": N_("Nothing to do"), "apply_death": N_("Confirm the death")}
SEX = {"1": N_("Male"), "2": N_("Female")}
# Why an old medical card waits in the exceptions queue (sscard.transition.service).
LEGACY_REASON = {"NO_PERSON": N_("No person with this ID number"),
                 "ID_INVALID": N_("The ID number's check digit is wrong"),
                 "PERSON_DECEASED": N_("The person is deceased")}
ACTIONS = {
    "register": N_("Person registered"),
    "apply_new": N_("Application for a new card taken"),
    "apply_replacement": N_("Application for a replacement card taken"),
    "apply_exchange": N_("Application for an exchange taken"),
    "production": N_("Production status advanced"),
    "pickup": N_("Card handed over (sealed)"),
    "activate": N_("Card activated"),
    "temp_loss": N_("Temporary loss reported"),
    "formal_loss": N_("Formal loss reported"),
    "lift_loss": N_("Loss lifted"),
    "unlock": N_("Card unlocked"),
    "cancel": N_("Card cancelled"),
    "portal_password": N_("Query password set"),
}


def division_name(code: str, language: str) -> str:
    for division in DIVISIONS:
        if division.code == code:
            return division.name_en if language == "en" else division.name_zh
    return code


def divisions(language: str) -> list[tuple[str, str]]:
    return [(d.code, d.name_en if language == "en" else d.name_zh) for d in DIVISIONS]

# The counter's buttons, by operation.
OPERATION = {
    "apply_replacement": N_("Take an application for a replacement"),
    "apply_exchange": N_("Take an application for an exchange"),
    "production": N_("Advance production (administrator)"),
    "pickup": N_("Hand over the card"),
    "activate": N_("Activate"),
    "temp_loss": N_("Report a temporary loss"),
    "formal_loss": N_("Report a formal loss"),
    "lift_loss": N_("Lift the loss"),
    "unlock": N_("Unlock"),
    "cancel": N_("Cancel the card"),
    "portal_password": N_("Set the query password (unlocks online services)"),
}
# Why an operation the card's state allows is not offered (``cards.counter.withheld``).
WITHHELD = {
    "role": N_("%(operation)s: only a %(roles)s may do this; ask one to log in at this counter."),
    "replacement_requested": N_("%(operation)s: a replacement has been requested for this card, so the loss can "
                                "no longer be lifted."),
    "lost_card_replacement": N_("%(operation)s: a card reported lost is not exchanged; take an application for a "
                                "replacement instead."),
    "other_outlet": N_("%(operation)s: the card waits at %(outlet)s and is handed over there."),
}
# What the confirmation page says before an operation that cannot simply be taken back.
CONFIRM = {
    "cancel": N_("The card is cancelled for good: it stops working at once, and any card being made for this "
                 "person is voided with it. This cannot be undone."),
    "formal_loss": N_("The card is reported lost formally: it stops working at once. It can be lifted only with "
                      "the original card, and only until a replacement is requested."),
    "temp_loss": N_("The card is blocked for a limited time (temporary loss): it stops working at once until the "
                    "loss is lifted or reported formally."),
    "apply_replacement": N_("A new card with a new number is made; the lost card is cancelled when the new one is "
                            "handed over, and the loss can no longer be lifted."),
}
CONFIRM_ACTIONS = tuple(CONFIRM)
# The collected-record fields an exception names.
RECORD_FIELD = {"name": N_("Name"), "sex": N_("Sex"), "birth_date": N_("Birth date"),
                "region_code": N_("Division of residence")}


def field_value(field: str | None, value: str | None, language: str) -> str:
    """A collected or register value as the page shows it (sex and division by name, not code)."""
    if value is None or value == "":
        return "—"
    if field == "sex":
        return SEX.get(value, value)  # translated by the template
    if field == "region_code":
        return division_name(value, language)
    return value
# 险种 (insurance types) and schemes as the counter names them.
INSURANCE = {"pension": N_("Pension insurance"), "medical": N_("Medical insurance"),
             "unemployment": N_("Unemployment insurance")}
SCHEME = {"flex_pension": N_("Basic pension insurance for flexible workers"),
          "employee_medical": N_("Employees' basic medical insurance"),
          "unemployment": N_("Unemployment insurance"),
          "resident_pension": N_("Urban and rural residents' basic pension insurance"),
          "resident_medical": N_("Urban and rural residents' basic medical insurance")}
CONTRIBUTION_STATUS = {"due": N_("Due"), "sent": N_("Sent to the bank"), "failed": N_("Not paid"),
                       "paid": N_("Paid")}
ACCOUNT_SOURCE = {"card": N_("The social security card's bank account"),
                  "registered": N_("An account registered at the agency")}

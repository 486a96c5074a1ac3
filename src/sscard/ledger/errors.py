"""Ledger errors, each with a stable code (names follow TigerBeetle's result codes where one exists)."""

from sscard.errors import Conflict, NotFound, ValidationFailed


class LedgerAccountNotFound(NotFound):
    code = "LEDGER_ACCOUNT_NOT_FOUND"
    message_zh = "账户不存在"
    message_en = "Ledger account not found"


class LedgerAccountExists(Conflict):
    """``create_account`` with a code already in use (``get_or_create_account`` returns it instead)."""

    code = "LEDGER_ACCOUNT_EXISTS"
    message_zh = "账户已存在"
    message_en = "A ledger account with this code already exists"


class LedgerAccountExistsDifferent(Conflict):
    """An account with this code exists, but with another kind, currency or limit flags."""

    code = "LEDGER_ACCOUNT_EXISTS_DIFFERENT"
    message_zh = "账户已存在且属性不同"
    message_en = "A ledger account with this code exists with different attributes"


class LedgerAccountInvalid(ValidationFailed):
    code = "LEDGER_ACCOUNT_INVALID"
    message_zh = "账户代码、类别或标志不合法"
    message_en = "The account code, kind or flags are invalid"


class LedgerExceedsCredits(Conflict):
    """The debit account may not have more debits than credits (e.g. a personal medical account going negative)."""

    code = "LEDGER_EXCEEDS_CREDITS"
    message_zh = "账户余额不足"
    message_en = "The debit would exceed the account's credits (insufficient balance)"


class LedgerExceedsDebits(Conflict):
    code = "LEDGER_EXCEEDS_DEBITS"
    message_zh = "贷方发生额将超过借方"
    message_en = "The credit would exceed the account's debits"


class LedgerIdExistsDifferent(Conflict):
    """A retry must repeat the first request exactly; the same id with other fields is a client bug."""

    code = "LEDGER_ID_EXISTS_DIFFERENT"
    message_zh = "该转账编号已用于不同的转账"
    message_en = "A transfer with this id exists with different fields"


class LedgerIdInvalid(ValidationFailed):
    code = "LEDGER_ID_INVALID"
    message_zh = "转账编号不合法"
    message_en = "The transfer id is invalid"


class LedgerPendingNotFound(NotFound):
    code = "LEDGER_PENDING_NOT_FOUND"
    message_zh = "待过账转账不存在"
    message_en = "The pending transfer does not exist (or is not pending)"


class LedgerPendingAlreadyPosted(Conflict):
    code = "LEDGER_PENDING_ALREADY_POSTED"
    message_zh = "待过账转账已过账"
    message_en = "The pending transfer has already been posted"


class LedgerPendingAlreadyVoided(Conflict):
    code = "LEDGER_PENDING_ALREADY_VOIDED"
    message_zh = "待过账转账已撤销"
    message_en = "The pending transfer has already been voided"


class LedgerExceedsPendingAmount(Conflict):
    code = "LEDGER_EXCEEDS_PENDING_AMOUNT"
    message_zh = "过账金额超过冻结金额"
    message_en = "The amount posted exceeds the pending amount"


class LedgerAmountInvalid(ValidationFailed):
    code = "LEDGER_AMOUNT_INVALID"
    message_zh = "金额必须为正整数（分）"
    message_en = "The amount must be a positive whole number of fen"


class LedgerSameAccount(ValidationFailed):
    code = "LEDGER_SAME_ACCOUNT"
    message_zh = "借方与贷方不能为同一账户"
    message_en = "The debit and credit accounts must differ"


class LedgerCurrencyMismatch(ValidationFailed):
    code = "LEDGER_CURRENCY_MISMATCH"
    message_zh = "借贷双方币种不同"
    message_en = "The accounts are in different currencies"


class LedgerOverflow(Conflict):
    code = "LEDGER_OVERFLOW"
    message_zh = "账户发生额超出上限"
    message_en = "An account total would overflow"

"""Who acts and what each role may do: ``Actor``, ``Role``, ``Permission`` and ``PermissionDenied``.

Authorisation is decided here, once, for every interface (API, CLI, web). Every service starts with
``actor.require(...)``, so this module sits below all domains (it imports nothing but ``sscard.errors``);
authentication (operators, passwords, tokens, TOTP, lockout) is the ``auth`` domain above it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from sscard.errors import DomainError


class PermissionDenied(DomainError):
    code = "PERMISSION_DENIED"
    http_status = 403
    message_zh = "当前角色无权执行此操作"
    message_en = "Your role is not allowed to do this"


class Role(enum.StrEnum):
    COUNTER = "counter"  # 柜员
    SUPERVISOR = "supervisor"  # 主管
    ADMIN = "admin"  # 系统管理员
    SYSTEM = "system"  # scheduled jobs and batch tools; cannot log in
    INSTITUTION = "institution"  # a designated hospital or pharmacy (API key); cannot log in
    CARDHOLDER = "cardholder"  # a resident in the portal or at a kiosk (query password); only their own data
    ACCOUNTANT = "accountant"  # 基金会计: the funds' bank accounts, statements and reconciliation (the maker)
    DEPARTMENT = "department"  # another government department under a data-sharing agreement (signed requests)


class Permission(enum.StrEnum):
    PERSON_READ = "person.read"
    PERSON_WRITE = "person.write"
    CARD_READ = "card.read"
    CARD_APPLY = "card.apply"
    CARD_APPLY_BULK = "card.apply_bulk"
    CARD_PRODUCTION = "card.production"
    CARD_PICKUP = "card.pickup"
    CARD_ACTIVATE = "card.activate"
    CARD_PIN = "card.pin"
    CARD_UNLOCK = "card.unlock"
    CARD_TEMP_LOSS = "card.temp_loss"
    CARD_FORMAL_LOSS = "card.formal_loss"
    CARD_LIFT_LOSS = "card.lift_loss"
    CARD_CANCEL = "card.cancel"
    OPERATOR_ADMIN = "operator.admin"
    OPERATOR_UNLOCK = "operator.unlock"  # lift a temporary login lock (supervisors: not administrators')
    POLICY_ADMIN = "policy.admin"
    AUDIT_READ = "audit.read"
    JOBS_RUN = "jobs.run"
    PRODUCTION_IMPORT = "production.import"  # import collection/population files, run the comparison
    PRODUCTION_RESOLVE = "production.resolve"  # decide on comparison exceptions
    PRODUCTION_BATCH = "production.batch"  # production batches and file exchange with banks and the maker
    STATS_READ = "stats.read"
    MEDICAL_ADMIN = "medical.admin"  # institutions, catalogue, policy, enrolment, account funding
    MEDICAL_RECONCILE = "medical.reconcile"  # review and resolve reconciliation differences
    MEDICAL_SETTLE = "medical.settle"  # an institution's settlement and reconciliation messages
    FUNDS_RUN = "funds.run"  # run the month: contributions withholding and benefit disbursement
    FUNDS_READ = "funds.read"  # inspect batches, failures, re-issues, entitlements
    FUNDS_CORRECT = "funds.correct"  # correct a failed payment / entitlement data and queue the re-issue
    FUNDS_CERTIFY = "funds.certify"  # record a pensioner's survival certification (资格认证) at a counter
    HEALTH_INDEX = "health.index"  # a hospital publishes to and (with a grant) reads the health index
    HEALTH_REVIEW = "health.review"  # review break-the-glass reads of the health index
    HEALTH_STATS = "health.stats"  # aggregated, de-identified statistics of the health index
    PORTAL_SELF = "portal.self"  # a cardholder reads and updates their own data (portal.service checks whose)
    ECARD_USE = "ecard.use"  # a cardholder activates their e-card, shows its code, adds family members
    ECARD_VERIFY = "ecard.verify"  # check a scanned e-card code (institutions, counters)
    TRANSITION_IMPORT = "transition.import"  # import the old medical-card system's register and balances
    TRANSITION_READ = "transition.read"  # the reconciliation report and the exceptions queue of the move
    TRANSITION_RESOLVE = "transition.resolve"  # match a queued old card to a person and carry its balance
    TREASURY_READ = "treasury.read"  # the funds' bank accounts, positions, reconciliation queue and reports
    TREASURY_PROPOSE = "treasury.propose"  # propose movements, record collections, import and reconcile statements
    TREASURY_APPROVE = "treasury.approve"  # approve or reject a movement another operator proposed (the checker)
    TREASURY_ADMIN = "treasury.admin"  # register the funds' bank accounts
    TRANSFER_HANDLE = "transfer.handle"  # issue a 参保缴费凭证, file a transfer-in application, read transfers
    TRANSFER_PAY = "transfer.pay"  # confirm a transfer out and pay its funds to the other city
    EMPLOYMENT_REGISTER = "employment.register"  # open and close 求职登记 / 失业登记 for a person
    EMPLOYMENT_READ = "employment.read"  # a person's employment registrations and subsidies
    EMPLOYMENT_SUBSIDY = "employment.subsidy"  # propose an employment-support subsidy (the maker)
    EMPLOYMENT_APPROVE = "employment.approve"  # approve or reject a subsidy another operator proposed (the checker)
    EXCHANGE_FEED_IMPORT = "exchange.feed_import"  # import the departments' feed files from the file ferry
    EXCHANGE_FEED_READ = "exchange.feed_read"  # the feed files imported and refused, the feed cases
    EXCHANGE_FEED_RESOLVE = "exchange.feed_resolve"  # resolve a feed exception or review case
    REMOTE_REGISTER = "remote.register"  # 异地就医备案 for an insured person; read cross-region settlements
    REMOTE_CLEAR = "remote.clear"  # close half-known cross-region messages, book the monthly clearing
    EXCHANGE_ADMIN = "exchange.admin"  # departments, their keys, requests for data-sharing agreements (the maker)
    EXCHANGE_APPROVE = "exchange.approve"  # approve or revoke an agreement another operator requested (the checker)
    EXCHANGE_READ = "exchange.read"  # the catalogue, departments, agreements and usage reports
    EXCHANGE_SERVE = "exchange.serve"  # a department's signed request under its agreement (exchange checks which)


_COUNTER = {
    Permission.PERSON_READ,
    Permission.PERSON_WRITE,
    Permission.CARD_READ,
    Permission.CARD_APPLY,
    Permission.CARD_PICKUP,
    Permission.CARD_ACTIVATE,
    Permission.CARD_PIN,
    Permission.CARD_TEMP_LOSS,
    Permission.CARD_FORMAL_LOSS,
    Permission.CARD_LIFT_LOSS,
    Permission.FUNDS_CERTIFY,
    Permission.ECARD_VERIFY,
    Permission.TRANSFER_HANDLE,
    Permission.EMPLOYMENT_REGISTER,
    Permission.EMPLOYMENT_READ,
    Permission.EMPLOYMENT_SUBSIDY,
    Permission.REMOTE_REGISTER,
}
# Supervisors additionally authorise the operations a counter clerk may not do alone.
_SUPERVISOR = _COUNTER | {
    Permission.CARD_APPLY_BULK,
    Permission.CARD_UNLOCK,
    Permission.OPERATOR_UNLOCK,
    Permission.CARD_CANCEL,
    Permission.AUDIT_READ,
    Permission.HEALTH_REVIEW,
    Permission.PRODUCTION_RESOLVE,
    Permission.STATS_READ,
    Permission.FUNDS_READ,
    Permission.FUNDS_CORRECT,
    Permission.TRANSITION_READ,
    Permission.TRANSITION_RESOLVE,
    Permission.TREASURY_READ,
    Permission.TREASURY_APPROVE,
    Permission.TRANSFER_PAY,
    Permission.EMPLOYMENT_APPROVE,
    Permission.EXCHANGE_FEED_READ,
    Permission.EXCHANGE_FEED_RESOLVE,
    Permission.EXCHANGE_APPROVE,
    Permission.EXCHANGE_READ,
}
# The fund accountant proposes and reconciles; a supervisor (another person) approves what moves money.
_ACCOUNTANT = {Permission.TREASURY_READ, Permission.TREASURY_PROPOSE}
_ADMIN = _SUPERVISOR | {
    Permission.CARD_PRODUCTION,
    Permission.OPERATOR_ADMIN,
    Permission.POLICY_ADMIN,
    Permission.JOBS_RUN,
    Permission.PRODUCTION_IMPORT,
    Permission.PRODUCTION_BATCH,
    Permission.MEDICAL_ADMIN,
    Permission.MEDICAL_RECONCILE,
    Permission.FUNDS_RUN,
    Permission.HEALTH_STATS,
    Permission.TRANSITION_IMPORT,
    Permission.TREASURY_ADMIN,
    Permission.TREASURY_PROPOSE,
    Permission.EXCHANGE_FEED_IMPORT,
    Permission.REMOTE_CLEAR,
    Permission.EXCHANGE_ADMIN,
}

GRANTS: dict[Role, frozenset[Permission]] = {
    Role.COUNTER: frozenset(_COUNTER),
    Role.SUPERVISOR: frozenset(_SUPERVISOR),
    Role.ADMIN: frozenset(_ADMIN),
    Role.ACCOUNTANT: frozenset(_ACCOUNTANT),
    Role.SYSTEM: frozenset(Permission),
    Role.INSTITUTION: frozenset({Permission.MEDICAL_SETTLE, Permission.HEALTH_INDEX, Permission.ECARD_VERIFY}),
    # The portal service checks that the card or person is the cardholder's own before using these.
    Role.CARDHOLDER: frozenset({Permission.PORTAL_SELF, Permission.CARD_TEMP_LOSS, Permission.ECARD_USE}),
    # A department reads only what its agreement names (sscard.exchange checks the agreement before any read).
    Role.DEPARTMENT: frozenset({Permission.EXCHANGE_SERVE, Permission.PERSON_READ, Permission.CARD_READ,
                                Permission.FUNDS_READ, Permission.HEALTH_STATS}),
}


@dataclass(frozen=True, slots=True)
class Actor:
    """Who is acting: written into every audit record."""

    operator_id: int | None
    username: str
    role: Role
    outlet_id: int | None = None
    outlet_code: str | None = None
    person_id: int | None = None  # set only for Role.CARDHOLDER: whose data this actor may see

    def can(self, permission: Permission) -> bool:
        if self.role is Role.CARDHOLDER and self.person_id is None:
            return False  # a cardholder is always someone: never an operator account given this role
        if self.role is Role.DEPARTMENT and self.operator_id is not None:
            return False  # a department acts only through its signed requests: never an operator account
        return permission in GRANTS[self.role]

    def require(self, permission: Permission) -> None:
        if not self.can(permission):
            raise PermissionDenied(f"role {self.role.value} lacks {permission.value}", permission=permission.value)

    def require_own(self, person_id: int) -> None:
        """A cardholder acts only on their own person; operators are limited by their permissions alone."""
        if self.role is Role.CARDHOLDER and self.person_id != person_id:
            raise PermissionDenied("a cardholder may act only on their own data",
                                   permission=Permission.PORTAL_SELF.value)

    def require_own_or(self, staff: Permission, person_id: int) -> None:
        """A person's data: a cardholder their own only (``PORTAL_SELF``), staff with ``staff``."""
        if self.role is Role.CARDHOLDER:
            self.require(Permission.PORTAL_SELF)
            self.require_own(person_id)
        else:
            self.require(staff)


SYSTEM_ACTOR = Actor(operator_id=None, username="system", role=Role.SYSTEM)

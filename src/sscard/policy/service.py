"""Reading the parameter in effect on a date, and setting new values (administrators only, audited)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from sscard.audit import service as audit
from sscard.auth.roles import Actor, Permission
from sscard.db import Database
from sscard.funds.contributions.parameters import PARAMETERS as CONTRIB_PARAMETERS
from sscard.policy.errors import PolicyInvalid, PolicyMissing
from sscard.policy.models import PolicyParameter


@dataclass(frozen=True)
class ParameterSpec:
    name: str
    description: str
    minimum: int
    maximum: int


# The parameters the foundation knows, with sane bounds; values live in the database (seeded by migration).
KNOWN: dict[str, ParameterSpec] = {
    s.name: s
    for s in (
        ParameterSpec("card.temp_loss_days", "临时挂失有效天数 / days a temporary loss stays before lapsing", 1, 90),
        ParameterSpec("card.pin_max_tries", "社保密码连续错误锁定次数 / wrong PINs before lock", 1, 15),
        ParameterSpec("card.validity_years", "卡有效期（年）/ card validity in years", 1, 30),
        ParameterSpec("auth.max_failed_logins", "操作员登录失败锁定次数 / failed logins before lock", 1, 50),
        ParameterSpec("card.seal_unactivated_months", "领卡后未激活逾期封存月数 / months before an unactivated card is "
                      "sealed as overdue", 1, 60),
        ParameterSpec("benefits.certification_months", "待遇资格认证有效月数（逾期停发）/ months a survival "
                      "certification stays valid before payments stop", 1, 36),
        ParameterSpec("portal.max_failed_logins", "持卡人查询密码连续错误锁定次数 / wrong portal passwords before "
                      "lock", 1, 50),
        ParameterSpec("portal.session_minutes", "网上服务登录有效分钟数 / portal session length in minutes", 1, 1440),
        ParameterSpec("auth.address_max_failed_logins", "同一客户端地址登录失败临时锁定次数 / failed operator "
                      "logins from one client address before it is locked for a while", 1, 1000),
        ParameterSpec("auth.lock_seconds", "操作员首次临时锁定秒数（之后每次加倍）/ first temporary lock of an "
                      "operator account or address, in seconds (doubles with each further lock)", 1, 86400),
        ParameterSpec("auth.lock_max_seconds", "操作员临时锁定最长秒数 / longest temporary lock, in seconds", 1,
                      604800),
        ParameterSpec("auth.min_password_length", "操作员密码最短长度 / shortest operator password", 8, 128),
        ParameterSpec("portal.address_max_failed_logins", "同一客户端地址查询密码错误临时锁定次数 / wrong portal "
                      "passwords from one client address before it is locked for a while", 1, 1000),
        ParameterSpec("portal.lock_seconds", "持卡人首次临时锁定秒数（之后每次加倍）/ first temporary lock of a "
                      "portal account or address, in seconds (doubles with each further lock)", 1, 86400),
        ParameterSpec("portal.lock_max_seconds", "持卡人临时锁定最长秒数 / longest temporary portal lock, in "
                      "seconds", 1, 604800),
        ParameterSpec("portal.kiosk_idle_seconds", "自助终端无操作自动退出秒数 / kiosk idle logout in seconds",
                      10, 3600),
        *(ParameterSpec(name, text, low, high) for name, text, low, high, _ in CONTRIB_PARAMETERS),
    )
}


def get_int(session: Session, name: str, on: dt.date) -> int:
    row = session.execute(
        select(PolicyParameter.value)
        .where(PolicyParameter.name == name, PolicyParameter.effective_from <= on)
        .order_by(PolicyParameter.effective_from.desc())
        .limit(1)
    ).scalar_one_or_none()
    if row is None:
        raise PolicyMissing(f"{name} on {on.isoformat()}", name=name)
    return int(row)


def set_parameter(db: Database, actor: Actor, name: str, value: int, effective_from: dt.date,
                  note: str | None = None) -> PolicyParameter:
    actor.require(Permission.POLICY_ADMIN)
    spec = KNOWN.get(name)
    if spec is None:
        raise PolicyInvalid(f"unknown parameter {name}", name=name)
    if not spec.minimum <= value <= spec.maximum:
        raise PolicyInvalid(f"{name} must be between {spec.minimum} and {spec.maximum}", name=name)
    with db.unit_of_work() as session:
        existing = session.execute(
            select(PolicyParameter).where(PolicyParameter.name == name,
                                          PolicyParameter.effective_from == effective_from)
        ).scalar_one_or_none()
        before = {"value": existing.value} if existing else None
        if existing is None:
            existing = PolicyParameter(name=name, value=str(value), effective_from=effective_from, note=note,
                                       created_by=actor.username)
            session.add(existing)
        else:
            existing.value, existing.note = str(value), note
        session.flush()
        audit.record(session, actor, "policy.set", "policy", f"{name}@{effective_from.isoformat()}", before,
                     {"value": str(value), "effective_from": effective_from.isoformat(), "note": note})
        return existing


def list_parameters(db: Database) -> list[PolicyParameter]:
    with db.unit_of_work() as session:
        return list(session.execute(
            select(PolicyParameter).order_by(PolicyParameter.name, PolicyParameter.effective_from)
        ).scalars())

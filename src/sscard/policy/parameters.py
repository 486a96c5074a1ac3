"""Every policy parameter the system knows: its name, description and bounds (``KNOWN``). The values live in
``policy_parameters``, effective-dated, seeded by the migrations and set by :mod:`sscard.policy.service`.

The parameters of every domain (cards, auth, portal, benefits, contributions) are defined here, in the package
that validates them, so that ``policy`` — which those domains read — imports none of them.
"""

from __future__ import annotations

from dataclasses import dataclass

CONTRIB_MAX_LEVELS = 10  # resident pension levels (档次) a city may define: contrib.resident_pension.level_1 … _10

# The contribution parameters (``contrib.*``, read by sscard.funds.contributions): name, description, bounds.
# Migration 0007 seeds example values; administrators set the city's own.
_CONTRIBUTIONS: tuple[tuple[str, str, int, int], ...] = (
    ("contrib.avg_wage_fen", "上年度在岗职工月平均工资（分）/ last year's average monthly wage, fen",
     10_000, 10_000_000),
    ("contrib.base_ratio_min_bp", "灵活就业缴费基数下限比例（万分比）/ lowest base as a share of the average wage, bp",
     1_000, 10_000),
    ("contrib.base_ratio_max_bp", "灵活就业缴费基数上限比例（万分比）/ highest base as a share of the average wage, bp",
     10_000, 50_000),
    ("contrib.base_floor_fen", "缴费基数下限（分）/ the city's base floor, fen", 10_000, 10_000_000),
    ("contrib.base_ceiling_fen", "缴费基数上限（分）/ the city's base ceiling, fen", 10_000, 50_000_000),
    ("contrib.flex_pension.rate_bp", "灵活就业养老费率 / flexible workers' pension rate, bp", 0, 5_000),
    ("contrib.flex_pension.personal_bp", "其中记入个人账户 / of which to the personal pension account, bp",
     0, 5_000),
    ("contrib.employee_medical.rate_bp", "灵活就业职工医保费率 / flexible workers' employee-medical rate, bp",
     0, 5_000),
    ("contrib.employee_medical.personal_bp", "其中划入个人医疗账户 / of which to the personal medical account, bp",
     0, 5_000),
    ("contrib.unemployment.rate_bp", "灵活就业失业保险费率 / flexible workers' unemployment rate, bp", 0, 5_000),
    ("contrib.resident_pension.levels", "城乡居民养老缴费档次数 / number of resident pension levels",
     1, CONTRIB_MAX_LEVELS),
    *((f"contrib.resident_pension.level_{n}", f"城乡居民养老第 {n} 档月缴额（分）/ resident level {n}, fen a month",
       0, 1_000_000) for n in range(1, CONTRIB_MAX_LEVELS + 1)),
    ("contrib.resident_pension.pool_bp", "居民养老缴费进入统筹的比例 / share of a resident level to the pool, bp",
     0, 10_000),
    ("contrib.resident_medical.amount_fen", "城乡居民医保月缴额（分）/ residents' medical amount a month, fen",
     0, 1_000_000),
    ("contrib.employer.pension_bp", "单位养老费率 / employer pension rate, bp", 0, 5_000),
    ("contrib.employee.pension_bp", "职工个人养老费率 / employee pension rate, bp", 0, 5_000),
    ("contrib.employer.medical_bp", "单位医疗费率 / employer medical rate, bp", 0, 5_000),
    ("contrib.employee.medical_bp", "职工个人医疗费率（全部划入个人账户）/ employee medical rate, bp", 0, 5_000),
    ("contrib.employer.unemployment_bp", "单位失业费率 / employer unemployment rate, bp", 0, 5_000),
    ("contrib.employee.unemployment_bp", "职工个人失业费率 / employee unemployment rate, bp", 0, 5_000),
    ("contrib.arrears_suspend_months", "欠费暂停扣缴月数 / months of arrears before collection is suspended",
     1, 24),
)

# 异地就医 (``remote.care.*``, read by sscard.remote, docs/cross-region.md): which remote-care rule of the home
# city's medical policy (its ``remote_reduction_bp`` / ``remote`` keys) a visit under each 备案 kind follows —
# 1 long_term, 2 referred, 3 unreferred — and ``unregistered`` for a visit without 备案 (0: refused).
_REMOTE: tuple[tuple[str, str, int, int], ...] = (
    ("remote.care.retired_relocated", "异地安置退休人员按哪类异地就医待遇 / rule for 异地安置退休 (1 long_term, "
     "2 referred, 3 unreferred)", 1, 3),
    ("remote.care.long_term_resident", "异地长期居住人员 / rule for 异地长期居住", 1, 3),
    ("remote.care.resident_work", "常驻异地工作人员 / rule for 常驻异地工作", 1, 3),
    ("remote.care.referral", "异地转诊人员 / rule for 异地转诊", 1, 3),
    ("remote.care.temporary", "临时外出就医人员 / rule for 临时外出就医", 1, 3),
    ("remote.care.unregistered", "未备案异地就医（0 不予直接结算）/ rule for remote care without 备案 (0 refused)",
     0, 3),
)


@dataclass(frozen=True)
class ParameterSpec:
    name: str
    description: str
    minimum: int
    maximum: int


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
        ParameterSpec("portal.certificate_valid_days", "参保证明、缴费清单可验证天数 / days a certificate printed "
                      "for a cardholder can be verified", 1, 366),
        ParameterSpec("health.grant_minutes", "持卡人授权查阅健康索引的有效分钟数 / minutes a holder's grant "
                      "to read the health index lasts", 1, 10080),
        ParameterSpec("health.emergency_minutes", "紧急查阅（破窗）授权有效分钟数 / minutes a break-the-glass grant "
                      "lasts", 1, 1440),
        ParameterSpec("health.stats_min_cell", "健康统计最小单元格人次（更小的不公布）/ smallest count the health "
                      "statistics publish (smaller cells are suppressed)", 1, 1000),
        ParameterSpec("ecard.code_validity_seconds", "电子社保卡二维码有效秒数 / seconds an e-card code stays "
                      "valid", 10, 600),
        ParameterSpec("ecard.clock_skew_seconds", "验码允许的时钟偏差秒数 / clock skew a verifier allows, in "
                      "seconds", 0, 120),
        ParameterSpec("ecard.family_max", "每人最多亲情账户数 / family members a holder may add", 0, 10),
        ParameterSpec("transition.legacy_window_from", "旧医保卡过渡期首日（YYYYMMDD）/ first day hospitals may "
                      "identify a patient by the old medical card number, as YYYYMMDD", 20000101, 20991231),
        ParameterSpec("transition.legacy_window_until", "旧医保卡过渡期末日（YYYYMMDD，含当日）/ last day (inclusive) "
                      "the old medical card number is accepted, as YYYYMMDD", 20000101, 20991231),
        ParameterSpec("treasury.match_window_days", "对账自动匹配允许的记账日差（天）/ days between the ledger's "
                      "date and the bank's booking date that still match automatically", 0, 31),
        ParameterSpec("treasury.interest_day_basis", "定期存款计息天数基准（360 或 365）/ days of the year for "
                      "term deposit interest (360 or 365)", 360, 366),
        ParameterSpec("transfer.pension.pool_share_bp", "养老保险关系转移时统筹基金转移比例（占缴费基数，万分比）/ "
                      "share of each month's contribution base the pooled fund transfers, bp", 0, 10_000),
        ParameterSpec("transfer.pension.interest_bp", "个人账户记账年利率（万分比）/ yearly interest credited to "
                      "the personal pension account, bp", 0, 2_000),
        ParameterSpec("employment.ui.monthly_fen", "失业保险金月发放标准（分）/ unemployment benefit a month, fen",
                      10_000, 10_000_000),
        ParameterSpec("employment.ui.max_months", "失业保险金最长领取月数 / longest unemployment benefit, months",
                      1, 24),
        ParameterSpec("employment.subsidy.startup_fen", "一次性创业补贴（分）/ one-off start-up subsidy, fen",
                      1, 100_000_000),
        ParameterSpec("employment.subsidy.flexible_social_fen", "灵活就业社会保险补贴（一次性，分）/ one-off "
                      "social insurance subsidy for the flexibly employed, fen", 1, 10_000_000),
        ParameterSpec("benefits.funeral_grant_fen", "丧葬补助金标准（分）/ funeral grant on a death, fen", 0,
                      100_000_000),
        ParameterSpec("benefits.survivor_grant_months", "遗属抚恤金按月数（以最后月待遇计）/ months of the last "
                      "monthly benefit a survivor grant is worth", 0, 60),
        *(ParameterSpec(*spec) for spec in _CONTRIBUTIONS),
        *(ParameterSpec(*spec) for spec in _REMOTE),
    )
}

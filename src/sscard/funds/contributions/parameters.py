"""The contribution policy parameters (``contrib.*``): names, bounds and the example values the migration seeds.

Kept free of imports so that ``sscard.policy`` can list them among its known parameters.
"""

MAX_LEVELS = 10

# name, description, minimum, maximum, seeded value (example values; administrators set the city's own).
PARAMETERS: tuple[tuple[str, str, int, int, int], ...] = (
    ("contrib.avg_wage_fen", "上年度在岗职工月平均工资（分）/ last year's average monthly wage, fen",
     10_000, 10_000_000, 459_800),
    ("contrib.base_ratio_min_bp", "灵活就业缴费基数下限比例（万分比）/ lowest base as a share of the average wage, bp",
     1_000, 10_000, 6_000),
    ("contrib.base_ratio_max_bp", "灵活就业缴费基数上限比例（万分比）/ highest base as a share of the average wage, bp",
     10_000, 50_000, 30_000),
    ("contrib.base_floor_fen", "缴费基数下限（分）/ the city's base floor, fen", 10_000, 10_000_000, 275_880),
    ("contrib.base_ceiling_fen", "缴费基数上限（分）/ the city's base ceiling, fen", 10_000, 50_000_000, 1_379_400),
    ("contrib.flex_pension.rate_bp", "灵活就业养老费率 / flexible workers' pension rate, bp", 0, 5_000, 2_000),
    ("contrib.flex_pension.personal_bp", "其中记入个人账户 / of which to the personal pension account, bp",
     0, 5_000, 800),
    ("contrib.employee_medical.rate_bp", "灵活就业职工医保费率 / flexible workers' employee-medical rate, bp",
     0, 5_000, 800),
    ("contrib.employee_medical.personal_bp", "其中划入个人医疗账户 / of which to the personal medical account, bp",
     0, 5_000, 200),
    ("contrib.unemployment.rate_bp", "灵活就业失业保险费率 / flexible workers' unemployment rate, bp", 0, 5_000, 100),
    ("contrib.resident_pension.levels", "城乡居民养老缴费档次数 / number of resident pension levels", 1, MAX_LEVELS, 5),
    *((f"contrib.resident_pension.level_{n}", f"城乡居民养老第 {n} 档月缴额（分）/ resident level {n}, fen a month",
       0, 1_000_000, fen) for n, fen in enumerate((1_000, 2_000, 3_000, 5_000, 10_000, 0, 0, 0, 0, 0), start=1)),
    ("contrib.resident_pension.pool_bp", "居民养老缴费进入统筹的比例 / share of a resident level to the pool, bp",
     0, 10_000, 0),
    ("contrib.resident_medical.amount_fen", "城乡居民医保月缴额（分）/ residents' medical amount a month, fen",
     0, 1_000_000, 1_500),
    ("contrib.employer.pension_bp", "单位养老费率 / employer pension rate, bp", 0, 5_000, 1_400),
    ("contrib.employee.pension_bp", "职工个人养老费率 / employee pension rate, bp", 0, 5_000, 800),
    ("contrib.employer.medical_bp", "单位医疗费率 / employer medical rate, bp", 0, 5_000, 650),
    ("contrib.employee.medical_bp", "职工个人医疗费率（全部划入个人账户）/ employee medical rate, bp", 0, 5_000, 200),
    ("contrib.employer.unemployment_bp", "单位失业费率 / employer unemployment rate, bp", 0, 5_000, 150),
    ("contrib.employee.unemployment_bp", "职工个人失业费率 / employee unemployment rate, bp", 0, 5_000, 50),
    ("contrib.arrears_suspend_months", "欠费暂停扣缴月数 / months of arrears before collection is suspended",
     1, 24, 3),
)

"""The demo's generated names: a surname and a given name chosen for the person's sex, so that no name
contradicts the sex in the ID number (its 17th digit: odd = male); the two given-name lists share no name."""

from __future__ import annotations

import random

SURNAMES = ("王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭", "何",
            "林", "罗", "高", "梁", "郑", "谢", "宋", "唐", "许", "邓", "冯", "韩", "曾", "彭", "萧", "蔡", "潘",
            "欧阳", "司徒", "上官")
MALE_GIVEN = ("伟", "强", "磊", "军", "勇", "杰", "涛", "斌", "超", "刚", "辉", "鹏", "飞", "鑫", "浩", "凯", "健",
              "俊", "龙", "建国", "建军", "志强", "志明", "国强", "永刚", "德明", "文斌", "海涛", "振华", "家豪",
              "子轩", "浩然", "俊杰", "宇航", "国栋", "锦明")
FEMALE_GIVEN = ("丽", "芳", "娜", "敏", "静", "艳", "娟", "霞", "玲", "丹", "萍", "婷", "雪", "琳", "倩", "颖", "慧",
                "秀英", "丽娟", "桂英", "美玲", "秀兰", "桂兰", "玉兰", "春梅", "海燕", "晓燕", "淑珍", "雅婷", "欣怡",
                "梓涵", "诗涵", "佳琪", "秀珍", "凤英", "惠芬")


def generate(rng: random.Random, male: bool) -> str:
    """A name for a person of that sex: 1–2 character surname + a given name from the sex's list."""
    return rng.choice(SURNAMES) + rng.choice(MALE_GIVEN if male else FEMALE_GIVEN)


def given_name(name: str) -> str:
    """The given name of a name built by ``generate`` (a two-character surname first, if it is one)."""
    return name[2:] if name[:2] in SURNAMES else name[1:]

"""The registration state machine as a property: random sequences of register / close / open-benefit on a few
persons, against a model of the rules (one open registration of each kind per person; only an open one closes;
only an open unemployment registration opens a benefit, once; a closed one stops it). On both databases."""

from __future__ import annotations

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from sqlalchemy import select

from sscard.employment import service
from sscard.employment.errors import AlreadyRegistered, RegistrationInvalid, RegistrationState
from sscard.employment.schemas import CloseIn, RegistrationIn
from sscard.funds.benefits.models import Entitlement
from sscard.registry import service as registry
from sscard.registry.schemas import PersonIn
from support.city import City
from support.factories import next_id_number

KINDS = ("job_seeker", "unemployment")


def test_registrations_follow_the_model(city: City) -> None:
    class Machine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.people = [next_id_number() for _ in range(2)]
            for number in self.people:
                registry.register(city.db, city.admin, PersonIn(id_number=number, name="性质", region_code="441802"))
            self.open: dict[tuple[int, str], int] = {}  # (person index, kind) → registration id
            self.all: list[int] = []
            self.benefit: dict[int, int] = {}  # registration id → entitlement id

        @rule(who=st.integers(0, 1), kind=st.sampled_from(KINDS))
        def register(self, who: int, kind: str) -> None:
            data = RegistrationIn(id_number=self.people[who], kind=kind)
            if (who, kind) in self.open:
                try:
                    service.register(city.db, city.counter, data)
                except AlreadyRegistered:
                    return
                raise AssertionError("a second open registration was accepted")
            reg = service.register(city.db, city.counter, data)
            self.open[(who, kind)] = reg.id
            self.all.append(reg.id)

        @rule(pick=st.integers(0, 50))
        def close(self, pick: int) -> None:
            if not self.all:
                return
            reg_id = self.all[pick % len(self.all)]
            is_open = reg_id in self.open.values()
            try:
                service.close_registration(city.db, city.counter, reg_id, CloseIn(reason="reemployed"))
            except RegistrationState:
                assert not is_open
                return
            assert is_open
            self.open = {k: v for k, v in self.open.items() if v != reg_id}

        @rule(pick=st.integers(0, 50))
        def open_benefit(self, pick: int) -> None:
            if not self.all:
                return
            reg_id = self.all[pick % len(self.all)]
            kind = next((k for (_, k), v in self.open.items() if v == reg_id), None)
            try:
                out = service.open_unemployment_benefit(city.db, city.supervisor, reg_id)
            except (RegistrationInvalid, RegistrationState):
                assert kind != "unemployment" and reg_id not in self.benefit
                return
            assert out.entitlement_id is not None
            assert self.benefit.setdefault(reg_id, out.entitlement_id) == out.entitlement_id

        @invariant()
        def states_agree(self) -> None:
            for reg_id in self.all:
                reg = service.registration(city.db, city.supervisor, reg_id)
                assert (reg.status == "open") == (reg_id in self.open.values())
            if self.benefit:
                with city.db.unit_of_work() as s:
                    ents = {e.id: e.status for e in s.execute(select(Entitlement).where(
                        Entitlement.id.in_(list(self.benefit.values())))).scalars()}
                for reg_id, ent_id in self.benefit.items():
                    assert (ents[ent_id] == "active") == (reg_id in self.open.values())

    run_state_machine_as_test(Machine, settings=settings(
        max_examples=8, stateful_step_count=12, deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]))

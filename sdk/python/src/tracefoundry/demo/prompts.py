"""The demo agent's questions and tool plans, and the fake secrets and personal data planted in some of them.

Everything is drawn from the `random.Random` the caller passes, so a seed always gives the same question.
The planted values are shaped like real credentials (so the redaction policy's patterns match them) but
are made up on the spot; the caller gets them back so tests can check that none reaches storage.
"""

import random
import string
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

SYSTEM_PROMPT = (
    "You are a research assistant for an operations team. Plan tool calls (search, calculator, "
    "database_lookup), then answer in three sentences or fewer. Never repeat credentials back."
)
_TOPICS = (
    "retry policies for LLM APIs",
    "latency budgets for agents",
    "vector index tuning",
    "token cost forecasting",
    "queue backpressure",
    "on-call runbooks",
)
_NAMES = ("jane.doe", "omar.haddad", "li.wei", "maria.garcia", "sam.okafor")
_ALNUM = string.ascii_letters + string.digits
_UPPER = string.ascii_uppercase + string.digits

# A step is (tool name, function from the outputs so far to the tool's arguments).
Step = tuple[str, Callable[[list[Any]], dict[str, Any]]]


@dataclass
class Question:
    template_id: str
    text: str
    steps: list[Step]
    planted_secrets: list[str] = field(default_factory=list)
    planted_personal: list[str] = field(default_factory=list)


def pick_question(rng: random.Random, *, needs_database: bool = False) -> Question:
    builders = [_order_in_euros, _customer_growth]
    if not needs_database:
        builders += [_best_practices, _request_costs]
    question = rng.choice(builders)(rng)
    if rng.random() < 0.4:
        _plant(rng, question)
    return question


def _order_in_euros(rng: random.Random) -> Question:
    order = f"ORD-{rng.randint(10000, 99999)}"
    rate = rng.choice((0.91, 0.92, 0.93))
    return Question(
        "order_in_euros",
        f"What is the status of order {order}, and what is its total in EUR at a rate of {rate}?",
        [
            ("database_lookup", lambda outs: {"table": "orders", "key": order}),
            ("calculator", lambda outs: {"expression": f"{outs[0]['row']['total_usd']} * {rate}"}),
        ],
    )


def _customer_growth(rng: random.Random) -> Question:
    customer = f"CUS-{rng.randint(1000, 9999)}"
    growth = rng.choice((10, 15, 25))
    return Question(
        "customer_growth",
        f"How many seats does customer {customer} have, and how many with {growth}% growth?",
        [
            ("database_lookup", lambda outs: {"table": "customers", "key": customer}),
            ("calculator", lambda outs: {"expression": f"{outs[0]['row']['seats']} * {1 + growth / 100}"}),
        ],
    )


def _best_practices(rng: random.Random) -> Question:
    topic = rng.choice(_TOPICS)
    return Question(
        "best_practices",
        f"Find current best practices for {topic} and summarise them for the team.",
        [("search", lambda outs: {"query": f"best practices {topic}"})],
    )


def _request_costs(rng: random.Random) -> Question:
    topic = rng.choice(_TOPICS)
    requests = rng.choice((120_000, 450_000, 2_000_000))
    return Question(
        "request_costs",
        f"Compare approaches to {topic}, then estimate the monthly cost of {requests} requests at $0.0004 each.",
        [
            ("search", lambda outs: {"query": f"{topic} comparison"}),
            ("calculator", lambda outs: {"expression": f"{requests} * 0.0004"}),
        ],
    )


def fake_openai_key(rng: random.Random) -> str:
    return "sk-proj-" + "".join(rng.choice(_ALNUM) for _ in range(40))


def fake_bearer_token(rng: random.Random) -> str:
    return "tok_" + "".join(rng.choice(_ALNUM) for _ in range(32))


def _plant(rng: random.Random, question: Question) -> None:
    kind = rng.choice(("openai_key", "database_url", "aws_key", "github_token", "card"))
    if kind == "openai_key":
        secret = fake_openai_key(rng)
        question.text += f" Use my key {secret} if you need the API."
    elif kind == "database_url":
        secret = "Demo" + "".join(rng.choice(_ALNUM) for _ in range(14))
        question.text += f" The database is postgres://orders_app:{secret}@db.internal.example:5432/orders."
    elif kind == "aws_key":
        secret = "AKIA" + "".join(rng.choice(_UPPER) for _ in range(16))
        question.text += f" Our AWS access key id is {secret}, region eu-west-1."
    elif kind == "github_token":
        secret = "ghp_" + "".join(rng.choice(_ALNUM) for _ in range(36))
        question.text += f" The repo token is {secret}."
    else:
        secret = "4242 4242 4242 4242"  # noqa: S105  # a well-known test card number
        question.text += f" Bill it to card {secret}."
    question.planted_secrets.append(secret)
    if rng.random() < 0.6:
        email = f"{rng.choice(_NAMES)}{rng.randint(1, 99)}@example.com"
        phone = f"+1 415 555 {rng.randint(1000, 9999)}"
        question.text += f" Reach me at {email} or {phone}."
        question.planted_personal += [email, phone]

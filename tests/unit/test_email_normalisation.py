"""`normalize_email`: the one form an address is stored and compared in."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.emails import email_key, normalize_email
from tests.factories import fullwidth

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("given_email", "normal"),
    [
        ("admin@acceptance.example", "admin@acceptance.example"),
        (f"admin@{fullwidth('acceptance')}.example", "admin@acceptance.example"),
        (f"{fullwidth('ADMIN')}@ACCEPTANCE.EXAMPLE", "admin@acceptance.example"),
        (f"admin{fullwidth('@')}acceptance\u3002example", "admin@acceptance.example"),
        ("  Ada@Example.COM\u3000", "ada@example.com"),
        ("ﬁona@example.com", "fiona@example.com"),
        ("joe@BÜCHER.example", "joe@bücher.example"),
        ("joe@xn--bcher-kva.example", "joe@bücher.example"),
        ("Élodie@example.com", "élodie@example.com"),
        ("e\u0301lodie@example.com", "élodie@example.com"),
    ],
)
def test_spellings_of_one_address_normalise_alike(given_email, normal):
    assert normalize_email(given_email) == normal


@pytest.mark.parametrize(
    "value",
    ["not-an-email", f"a{fullwidth('@')}b@example.com", "admin@", "@x.com", "a" * 400 + "@x.com"],
)
def test_what_is_no_address_is_refused(value):
    with pytest.raises(ValueError, match=r"Email is too long|Invalid email format"):
        normalize_email(value)


local_parts = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zs", "Zl", "Zp")),
    min_size=1,
    max_size=12,
)
domains = st.sampled_from(
    ["example.com", f"{fullwidth('EXAMPLE')}.com", "bücher.example", "xn--bcher-kva.example"]
)


@given(local_parts, domains)
def test_normalising_a_normal_email_gives_it_back(local_part, domain):
    try:
        normal = normalize_email(f"{local_part}@{domain}")
    except ValueError:
        return
    assert normalize_email(normal) == normal


def test_the_rate_limit_key_folds_what_is_no_address_too():
    assert email_key(fullwidth("NOT-AN-EMAIL ")) == "not-an-email"
    assert email_key(f"{fullwidth('A')}dmin@acceptance.example") == "admin@acceptance.example"

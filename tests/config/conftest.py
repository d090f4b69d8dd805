"""The world of tests/patients (one patient with a row of each record kind), for the tests here
that walk every URL."""

from tests.patients.conftest import world  # noqa: F401 — a fixture

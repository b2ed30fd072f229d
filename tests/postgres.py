"""A fresh PostgreSQL database per test, for the tests marked `postgres`.

The server is the one at $EDGEBATCH_TEST_POSTGRES_URL (`make test-postgres` and `.ci/run`
start a throwaway one with scripts/with_postgres.sh). Without it those tests skip, except in
CI (CI=true), where a missing server is a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

POSTGRES_URL_ENV = "EDGEBATCH_TEST_POSTGRES_URL"


@pytest.fixture(scope="session")
def postgres_server() -> sa.URL:
    url = os.environ.get(POSTGRES_URL_ENV)
    if not url:
        reason = f"no PostgreSQL server: set {POSTGRES_URL_ENV} or run `make test-postgres`"
        if os.environ.get("CI", "").lower() in ("true", "1"):
            pytest.fail(f"{reason} (CI must run the postgres tests)", pytrace=False)
        pytest.skip(reason)
    return sa.make_url(url)


@pytest.fixture
def postgres_url(postgres_server: sa.URL) -> Iterator[str]:
    """The URL of a new, empty database on the server, dropped after the test."""
    name = f"edgebatch_test_{uuid.uuid4().hex[:16]}"
    admin = sa.create_engine(postgres_server, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as connection:
        try:  # an English collation, as most servers have, where byte order is not text order
            connection.exec_driver_sql(
                f"CREATE DATABASE \"{name}\" TEMPLATE template0"
                " LOCALE_PROVIDER icu ICU_LOCALE 'en-US'"
            )
        except sa.exc.DBAPIError:  # a server before PostgreSQL 15, or built without ICU
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    yield postgres_server.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE "{name}" WITH (FORCE)')

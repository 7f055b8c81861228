"""Central's API docs open on a plant network without internet."""

from tests.central.conftest import Central
from tests.runtime.test_api_docs import assert_docs_served_offline


async def test_central_docs_are_served_from_the_package(central: Central) -> None:
    await assert_docs_served_offline(central.client)

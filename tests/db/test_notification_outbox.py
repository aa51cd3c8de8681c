"""The notification outbox on SQLite and PostgreSQL: drainers at once never send one delivery twice; keys dedupe."""

import json
import threading

from sqlalchemy import select

from app.db.migrate import upgrade_database
from app.db.session import create_db_engine, session_factory
from app.db.tables import NotificationDelivery, NotificationEvent
from app.services.notifications.drainer import SendOptions, drain_once
from app.services.notifications.events import VERSION_ACTIVATED, emit
from app.services.notifications.subscriptions import create_subscription
from tests.services.notifications.receiver import running_receiver

OPTIONS = SendOptions(allow_private=True, max_attempts=3, backoff_seconds=0.0)


def test_three_drainers_at_once_send_every_delivery_exactly_once(database_url):
    upgrade_database(database_url)
    engines = [create_db_engine(database_url) for _ in range(4)]
    sessions = session_factory(engines[0])
    events = 60
    with running_receiver() as receiver:
        create_subscription(sessions=sessions, events=[VERSION_ACTIVATED], url=receiver.url, allow_private=True)
        for number in range(events):
            emit(sessions=sessions, event=VERSION_ACTIVATED, payload={"number": number})
        start = threading.Barrier(3)

        def drain(engine) -> None:
            drainer_sessions = session_factory(engine)
            start.wait()
            while drain_once(drainer_sessions, OPTIONS, limit=4):
                pass

        threads = [threading.Thread(target=drain, args=(engine,)) for engine in engines[1:]]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        received = receiver.received()
    try:
        numbers = [json.loads(item.body)["data"]["number"] for item in received]
        assert sorted(numbers) == list(range(events))
        with sessions() as session:
            assert set(session.scalars(select(NotificationDelivery.status))) == {"delivered"}
    finally:
        for engine in engines:
            engine.dispose()


def test_an_event_key_is_written_once_on_every_database(database_url):
    upgrade_database(database_url)
    engine = create_db_engine(database_url)
    sessions = session_factory(engine)
    try:
        first = emit(sessions=sessions, event=VERSION_ACTIVATED, payload={"to_version": "v1"}, key="k")
        again = emit(sessions=sessions, event=VERSION_ACTIVATED, payload={"to_version": "v1"}, key="k")
        with sessions() as session:
            rows = session.scalars(select(NotificationEvent)).all()
    finally:
        engine.dispose()
    assert first is not None and again is None
    assert [(row.type, row.payload) for row in rows] == [(VERSION_ACTIVATED, {"to_version": "v1"})]

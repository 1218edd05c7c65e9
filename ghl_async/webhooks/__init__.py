"""HighLevel webhooks: verify signatures, parse typed events, dispatch them, receive over HTTP.

Verification (Ed25519 ``x-ghl-signature``, legacy RSA ``x-wh-signature``) needs the optional
``cryptography`` package: ``pip install 'ghl-async[webhooks]'``. Everything else here (parsing,
the dispatcher) works without it.

::

    from aiohttp import web
    from ghl_async.webhooks import ContactCreate, Dispatcher, create_app

    dispatcher = Dispatcher()

    @dispatcher.on(ContactCreate)
    async def greet(event: ContactCreate) -> None:
        ...  # event.id, event.email, event.custom_fields, ...

    web.run_app(create_app(dispatcher, path="/webhooks"), port=8080)

Modules: :mod:`.verifier` (signature, timestamp window, dedupe), :mod:`.events` (the tagged
union), :mod:`.lenient` (decoding verified bodies that do not fit it), :mod:`.dispatcher`,
:mod:`.isolation` (running user code so it cannot kill the caller), :mod:`.receiver` (aiohttp),
:mod:`.seen` (seen-id stores),
:mod:`.crypto` (keys and signing), :mod:`.keys` (HighLevel's public keys), :mod:`.emitter`
(the sending side used by the fake server), :mod:`.errors`.
"""

from ghl_async.webhooks.crypto import (
    ED25519_HEADER,
    RSA_HEADER,
    KeyPair,
    TestingKeys,
    generate_ed25519_keys,
    generate_rsa_keys,
    sign_ed25519,
    sign_rsa,
    testing_keys,
)
from ghl_async.webhooks.dispatcher import Dispatcher, DispatchResult, Handler, HandlerFailure
from ghl_async.webhooks.emitter import Delivery, WebhookEmitter
from ghl_async.webhooks.errors import (
    AppMismatchError,
    CryptographyMissingError,
    DuplicateEventError,
    PayloadError,
    SignatureError,
    StaleEventError,
    WebhookError,
)
from ghl_async.webhooks.events import (
    EVENT_TYPES,
    AppInstall,
    AppointmentCreate,
    AppointmentDelete,
    AppointmentEvent,
    AppointmentUpdate,
    AppUninstall,
    ContactCreate,
    ContactDelete,
    ContactDndUpdate,
    ContactEvent,
    ContactTagUpdate,
    ContactUpdate,
    Event,
    InstallTrial,
    KnownEvent,
    MalformedEvent,
    NoteCreate,
    NoteDelete,
    NoteEvent,
    NoteUpdate,
    Repair,
    TaskComplete,
    TaskCreate,
    TaskDelete,
    TaskEvent,
    UnknownEvent,
    WebhookAppointment,
    WebhookEvent,
    WhitelabelDetails,
    parse,
)
from ghl_async.webhooks.keys import HIGHLEVEL_ED25519_PUBLIC_KEY, HIGHLEVEL_RSA_PUBLIC_KEY
from ghl_async.webhooks.lenient import RepairAction
from ghl_async.webhooks.receiver import RECEIVER_KEY, ReceiverStats, WebhookReceiver, create_app
from ghl_async.webhooks.seen import MemorySeenStore, SeenStore
from ghl_async.webhooks.verifier import DEFAULT_TOLERANCE, WebhookVerifier

__all__ = [
    "DEFAULT_TOLERANCE",
    "ED25519_HEADER",
    "EVENT_TYPES",
    "HIGHLEVEL_ED25519_PUBLIC_KEY",
    "HIGHLEVEL_RSA_PUBLIC_KEY",
    "RECEIVER_KEY",
    "RSA_HEADER",
    "AppInstall",
    "AppMismatchError",
    "AppUninstall",
    "AppointmentCreate",
    "AppointmentDelete",
    "AppointmentEvent",
    "AppointmentUpdate",
    "ContactCreate",
    "ContactDelete",
    "ContactDndUpdate",
    "ContactEvent",
    "ContactTagUpdate",
    "ContactUpdate",
    "CryptographyMissingError",
    "Delivery",
    "DispatchResult",
    "Dispatcher",
    "DuplicateEventError",
    "Event",
    "Handler",
    "HandlerFailure",
    "InstallTrial",
    "KeyPair",
    "KnownEvent",
    "MalformedEvent",
    "MemorySeenStore",
    "NoteCreate",
    "NoteDelete",
    "NoteEvent",
    "NoteUpdate",
    "PayloadError",
    "ReceiverStats",
    "Repair",
    "RepairAction",
    "SeenStore",
    "SignatureError",
    "StaleEventError",
    "TaskComplete",
    "TaskCreate",
    "TaskDelete",
    "TaskEvent",
    "TestingKeys",
    "UnknownEvent",
    "WebhookAppointment",
    "WebhookEmitter",
    "WebhookError",
    "WebhookEvent",
    "WebhookReceiver",
    "WebhookVerifier",
    "WhitelabelDetails",
    "create_app",
    "generate_ed25519_keys",
    "generate_rsa_keys",
    "parse",
    "sign_ed25519",
    "sign_rsa",
    "testing_keys",
]

"""The typed facade, for reading: every namespace class and its methods.

``ghl.contacts`` is a :class:`ContactsEndpoints`, ``ghl.contacts.tasks`` a
:class:`ContactsTasksEndpoints`, ``ghl.v3.contacts`` a :class:`V3ContactsEndpoints`, and each
namespace's ``with_raw_response`` a ``...RawEndpoints`` with the same methods returning a
:class:`~ghl_async.responses.RawResponse`. The classes are generated from the route table into
the private ``_endpoints`` module (``python -m ghl_async._codegen``); this module re-exports them
so the API reference documents every method with its parameters. Import from here, not from
``_endpoints``, to name them in your own annotations.
"""

from ghl_async._endpoints import *  # noqa: F403  (exactly the generated module's __all__)
from ghl_async._endpoints import __all__ as __all__

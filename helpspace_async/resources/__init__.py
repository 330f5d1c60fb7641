"""The API's resources, each a thin layer of paths over `HelpSpaceClient.request`."""

from .media import Media
from .messages import Messages
from .people import Customers, Organizations
from .tags import Tags
from .tickets import Tickets

__all__ = ["Customers", "Media", "Messages", "Organizations", "Tags", "Tickets"]

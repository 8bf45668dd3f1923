"""What the tests of the mesh's service calls share: three brokers on
one Redis, a service connection, a client, and a call that must succeed."""

from .harness import BrokerTestCase
from .ws import WsClient, WsServiceMixin


class MeshServiceTestCase(WsServiceMixin, BrokerTestCase):
    """cls.broker, cls.b2 and cls.b3 share the class's Redis."""

    @classmethod
    def start_brokers(cls):
        cls.broker = cls.start_class_broker()
        cls.b2 = cls.start_class_broker(suffix=".b2")
        cls.b3 = cls.start_class_broker(suffix=".b3")

    def ws(self, broker):
        c = WsClient(broker.ws)
        self.addCleanup(c.close)
        return c

    def r(self, s, m, p, i=1):
        """The result of call m, which must not fail."""
        env = s.call(m, p, i=i)
        self.assertIsNone(env["E"], (m, p, env))
        return env["r"]

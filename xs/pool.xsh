# Pool glue (XS part), owned by the Pool work.

MODULE = AnyEvent::Fork::Core	PACKAGE = AnyEvent::Fork::Pool::Core


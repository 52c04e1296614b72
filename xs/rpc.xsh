# RPC glue (XS part), owned by the RPC work.

MODULE = AnyEvent::Fork::Core	PACKAGE = AnyEvent::Fork::RPC::Core


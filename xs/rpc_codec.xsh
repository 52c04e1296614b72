# Serialising for AnyEvent::Fork::RPC (XSUB; the C part is rpc_codec.c).

MODULE = AnyEvent::Fork::Core	PACKAGE = AnyEvent::Fork::RPC::Core

PROTOTYPES: DISABLE

const char *
string_serialiser ()
  CODE:
  RETVAL = AEF_XS_STRING_SERIALISER;
  OUTPUT: RETVAL

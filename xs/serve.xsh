# Glue of the template's command reader (XSUB; the C part is serve.c).

MODULE = AnyEvent::Fork::Core	PACKAGE = AnyEvent::Fork::Core

PROTOTYPES: DISABLE

void
serve_next (aef_fd fd, int have_h = 0)
  PPCODE:
{
  SV *out[2];
  int i, n = aef_xs_serve_next (aTHX_ fd, have_h, out);

  EXTEND (SP, n);
  for (i = 0; i < n; i++)
    PUSHs (out[i]);
}

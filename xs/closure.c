/*
 * closure.c - queued closures without perl's quadratic back-reference
 * removal.
 *
 * Every anonymous closure perl makes (cv_clone) is entered on the list of
 * back references of the package it was compiled in (CvSTASH), and taken
 * off that list again when it is freed. Perl removes an entry quickly only
 * when it is the first or the last one; any other is found by a scan from
 * the end. A program that queues N calls, each with a fresh closure, frees
 * those closures in the order they were made (first in, first out), so
 * every removal scans past all the closures queued after it: N*N/4
 * comparisons in all (100,000 closures: seconds).
 *
 * While a closure waits in our queue nobody but us can reach it, so it
 * needs no place on that list. aef_xs_closure_detach takes it off while it
 * is still the list's last entry (it was made for this call, so that is
 * O(1)) and clears its package pointer, and aef_xs_closure_attach enters
 * it again, at the end of the list (O(1)), just before it is called or
 * dropped; it is then freed as the list's last entry, O(1) again. The
 * package is found again through the closure's glob (__ANON__ in the same
 * package), so nothing needs to be remembered; a package freed meanwhile
 * has cleared that glob's pointer, and the closure then stays detached, as
 * perl leaves it in that case.
 *
 * Only closures nobody else can see are detached: an anonymous clone that
 * is neither named nor an XSUB, whose package pointer and glob agree, and
 * whose every reference is the caller's own or held by the temporaries of
 * the statement that made the call (the code itself, or a reference to it
 * that only the temporaries hold). A closure the user keeps in a variable
 * is left alone, and so is one that reaches us through a loop variable or
 * a sub's arguments, aliases of temporaries of an enclosing statement
 * that the user's code could still copy. Perls without back references
 * from code to its package (before 5.14), or without the temporaries'
 * floor of each call and block where we can find it (before 5.24), do
 * without.
 */
#include "util.h"

#include "closure.h"

#if defined(CvSTASH_set) && defined(HvAUX)
# define AEF_XS_CLOSURE_WORKS 1
#endif

/* temporaries looked at, at most, from the newest */
#define AEF_XS_CLOSURE_SCAN 32

#ifdef AEF_XS_CLOSURE_WORKS

# ifdef HvHasAUX
#  define AEF_XS_HAS_AUX(hv) HvHasAUX (hv)
# else
#  define AEF_XS_HAS_AUX(hv) SvOOK (hv)
# endif

/* The code of sv (a code reference or code), when it is a closure we may
 * detach or attach: an anonymous clone with a glob. */
static CV *
aef_xs_closure_cv__ (SV *sv)
{
  CV *cv;

  if (SvROK (sv))
    sv = SvRV (sv);
  if (SvTYPE (sv) != SVt_PVCV)
    return NULL;
  cv = (CV *)sv;
  if (!CvANON (cv) || !CvCLONED (cv) || CvNAMED (cv) || CvISXSUB (cv))
    return NULL;
  return cv;
}

/* The slot of stash's back-reference list (an AV, a single entry, or NULL). */
static SV **
aef_xs_closure_slot__ (HV *stash)
{
  if (!AEF_XS_HAS_AUX (stash))
    return NULL;
  return (SV **)&HvAUX (stash)->xhv_backreferences;
}

/* The floor of the temporaries of the statement meant by outer (see
 * closure.h), below which the temporaries of enclosing statements lie; -2
 * when it cannot be told. Perl raises the floor for every XSUB it calls
 * (SAVETMPS, the last entry of the save stack when the XSUB has saved
 * nothing itself) and for every block and sub (kept in the context). */
static SSize_t
aef_xs_closure_floor__ (pTHX_ int outer)
{
# if defined(blk_old_tmpsfloor) && defined(SAVEt_TMPSFLOOR)
  I32 i;

  if (!outer)
    return PL_savestack_ix >= 2
           && (PL_savestack[PL_savestack_ix - 1].any_uv & SAVE_MASK) == SAVEt_TMPSFLOOR
           ? (SSize_t)PL_savestack[PL_savestack_ix - 2].any_iv
           : -2;
  for (i = cxstack_ix; i >= 0; i--)
    if (CxTYPE (&cxstack[i]) == CXt_SUB)
      return cxstack[i].blk_old_tmpsfloor;
# else
  PERL_UNUSED_ARG (outer);
# endif
  return -2;
}

int
aef_xs_closure_detach (pTHX_ SV *sv, IV owned, int outer)
{
  CV *cv = aef_xs_closure_cv__ (sv);
  HV *stash;
  GV *gv;
  SV **slot;
  IV refs;
  SSize_t i, low;

  if (!cv || !(stash = CvSTASH (cv)) || !(gv = CvGV (cv)) || GvSTASH (gv) != stash
      || SvREFCNT (cv) <= (U32)owned)
    return 0;

  /* every other reference must belong to that statement's temporaries */
  if ((low = aef_xs_closure_floor__ (aTHX_ outer)) < -1)
    return 0;
  if (low < PL_tmps_ix - AEF_XS_CLOSURE_SCAN)
    low = PL_tmps_ix - AEF_XS_CLOSURE_SCAN;
  refs = (IV)SvREFCNT (cv) - owned;
  for (i = PL_tmps_ix; i > low && refs > 0; i--)
    {
      SV *t = PL_tmps_stack[i];

      if (t == (SV *)cv
          || (t && SvROK (t) && !SvWEAKREF (t) && SvRV (t) == (SV *)cv && SvREFCNT (t) == 1))
        refs--;
    }
  if (refs)
    return 0;

  /* the list's last entry: taken off without a scan */
  if (!(slot = aef_xs_closure_slot__ (stash)) || !*slot)
    return 0;
  if (SvTYPE (*slot) == SVt_PVAV)
    {
      AV *av = (AV *)*slot;

      if (AvFILLp (av) < 0 || AvARRAY (av)[AvFILLp (av)] != (SV *)cv)
        return 0;
      AvFILLp (av)--;
    }
  else if (*slot == (SV *)cv)
    *slot = NULL;
  else
    return 0;

  ((XPVCV *)MUTABLE_PTR (SvANY (cv)))->xcv_stash = NULL;
  return 1;
}

void
aef_xs_closure_attach (pTHX_ SV *sv)
{
  CV *cv = aef_xs_closure_cv__ (sv);
  GV *gv;

  if (cv && !CvSTASH (cv) && (gv = CvGV (cv)) && GvSTASH (gv))
    CvSTASH_set (cv, GvSTASH (gv));
}

#else

int
aef_xs_closure_detach (pTHX_ SV *sv, IV owned, int outer)
{
  PERL_UNUSED_CONTEXT;
  PERL_UNUSED_ARG (sv);
  PERL_UNUSED_ARG (owned);
  PERL_UNUSED_ARG (outer);
  return 0;
}

void
aef_xs_closure_attach (pTHX_ SV *sv)
{
  PERL_UNUSED_CONTEXT;
  PERL_UNUSED_ARG (sv);
}

#endif

/*-------------------------------------------------------------------------
 *
 * routing.c
 *	  Routing between sales teams, as seen from the core move path.
 *
 * Placeholder until routing lands: nothing is routed, every team is known.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "lead_funnel.h"

void
lf_route_after_move(const char *lead_key)
{
}

void
lf_check_team(const char *team)
{
}

/*-------------------------------------------------------------------------
 *
 * sla.c
 *	  Service levels on the handover: the SLA clock of the core move path.
 *
 * Placeholder until the SLA policies land: no stage has a policy.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "lead_funnel.h"

bool
lf_sla_due(LfStage stage, TimestampTz entered, TimestampTz *due)
{
	return false;
}

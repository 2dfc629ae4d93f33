/*-------------------------------------------------------------------------
 *
 * calendar.c
 *	  Business calendars: business_time() and business_add().
 *
 * A calendar names a time zone, the ISO weekdays that are worked and a daily
 * window [day_start, day_end] of local wall-clock time; lead_funnel.holiday
 * lists the dates that are not worked.  The working window of a local date d
 * is the pair of instants at which the wall clock shows d + day_start and
 * d + day_end, converted exactly as PostgreSQL converts a local timestamp
 * (DetermineTimeZoneOffset: in a spring-forward gap the time before the jump
 * is used, in a fall-back overlap the later instant).  The window is further
 * clipped to the instants of local midnight of d and d + 1, so that windows of
 * different dates never overlap, even around odd transitions (a zone that
 * skips a whole day simply has no working time on it).  business_time(a, b) is
 * the total length of the intersections of [a, b] with all windows of working
 * days that are not holidays.  On an ordinary day that is day_end - day_start;
 * when a clock change falls inside the window it is 1 hour more or less.
 *
 * Cost.  Per calendar we keep a sorted array of "special" dates with the
 * difference between their working time and the nominal day_end - day_start:
 * holidays on working days (the whole nominal day missing) and working days
 * touched by a UTC-offset transition (found with pg_next_dst_boundary between
 * 1900 and 2200, once, when the calendar is loaded).  The working time of a
 * range of whole dates is then nominal * (number of working weekdays, counted
 * by whole weeks) plus a difference of prefix sums found by binary search:
 * its cost does not depend on the length of the range.  Only the dates at the
 * two ends are looked at individually.  After 2200 a zone's rules repeat every
 * 400 years: one cycle of them is precomputed the same way when first needed
 * (see build_cycle).  Before 1900 the transitions are walked on the fly (cost
 * proportional to the number of transitions; most zones have few or none).
 *
 * business_add(a, x) is the earliest instant t >= a with business_time(a, t)
 * = x; for x < 0 the latest t <= a with business_time(t, a) = -x, so that
 * business_time(a, business_add(a, x)) = x always holds.  It finds the date
 * on which the amount is used up by galloping and binary search over the same
 * whole-range sums.
 *
 * Caching.  Calendars are loaded on first use per backend (one row and its
 * holidays, through prepared SPI plans) into a hash table keyed by name that
 * lives in its own child of CacheMemoryContext.  Both config tables carry the
 * lf_config_changed statement trigger; our relcache callbacks only mark the
 * cache stale and the next lookup drops and rebuilds it.  A per-call-site
 * copy in fn_extra remembers the calendar found for the last name together
 * with the cache generation, so a scan over many rows does no hash lookup.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "common/hashfn.h"
#include "common/int.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgtime.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "lead_funnel.h"

/* the range of dates for which clock changes are precomputed */
#define LF_TZ_FROM_YEAR		1900
#define LF_TZ_TO_YEAR		2200

/* 400 Gregorian years (a whole number of weeks): the period of zone rules */
#define LF_CYCLE_DAYS		INT64CONST(146097)

/* kinds of special dates */
#define SP_HOLIDAY		0x01
#define SP_TZCHANGE		0x02

/* smallest and largest local date we ever look at (a day of slack) */
#define LF_MIN_DATE		((int64) DATETIME_MIN_JULIAN - POSTGRES_EPOCH_JDATE + 1)
#define LF_MAX_DATE		((int64) TIMESTAMP_END_JULIAN - POSTGRES_EPOCH_JDATE - 1)

typedef struct LfCalendar
{
	char	   *name;			/* hash key; must be first */
	pg_tz	   *tz;
	bool		fixed;			/* zone has one UTC offset forever */
	int64		fixed_off;		/* that offset in usec east of UTC */
	uint8		workmask;		/* bit (ISO weekday - 1) set = working day */
	int			nworkdays;		/* working days per week */
	int64		day_start;		/* usec after local midnight */
	int64		day_end;
	int64		nominal;		/* day_end - day_start */
	int64		tz_lo;			/* dates [tz_lo, tz_hi) have precomputed */
	int64		tz_hi;			/* clock changes */
	/* UTC offsets between tr_lo and tr_hi (usec instants), for speed */
	int64		tr_lo;
	int64		tr_hi;
	int64		tr_off0;		/* offset from tr_lo to the first change */
	int			ntrans;
	int64	   *tr_at;			/* instants of the changes, sorted */
	int64	   *tr_off;			/* offset from each change on */
	int			nspecial;
	int32	   *sp_date;		/* sorted */
	uint8	   *sp_kind;
	int64	   *sp_prefix;		/* nspecial + 1 sums of (work - nominal) */
	/* clock changes from tz_hi on, one 400-year cycle (built on first use) */
	int			cyc_state;		/* 0 not built, 1 periodic, -1 walk instead */
	int			ncyc;
	int32	   *cyc_day;		/* days after tz_hi, sorted, < LF_CYCLE_DAYS */
	int64	   *cyc_adj;		/* work - nominal of that date, holidays aside */
	int64	   *cyc_prefix;		/* ncyc + 1 sums of cyc_adj */
} LfCalendar;

static MemoryContext cal_context = NULL;
static HTAB *cal_hash = NULL;
static bool cal_valid = false;
static bool cal_registered = false;
static Oid	cal_relid = InvalidOid;
static Oid	hol_relid = InvalidOid;
static uint64 cal_generation = 0;
static SPIPlanPtr cal_plan = NULL;
static SPIPlanPtr hol_plan = NULL;

/* ---- small arithmetic helpers ---- */

static inline int64
floordiv(int64 a, int64 b)
{
	int64		q = a / b;

	if ((a % b != 0) && ((a < 0) != (b < 0)))
		q--;
	return q;
}

/* ISO weekday (1 = Monday .. 7 = Sunday) of a date (days since 2000-01-01) */
static inline int
iso_dow(int64 d)
{
	int64		m = d % 7;

	if (m < 0)
		m += 7;
	/* 2000-01-01 was a Saturday (6) */
	return (int) ((m + 5) % 7) + 1;
}

static inline bool
is_workday(const LfCalendar *cal, int64 d)
{
	return (cal->workmask & (1 << (iso_dow(d) - 1))) != 0;
}

static inline int64
date_of_ymd(int y, int m, int d)
{
	return (int64) date2j(y, m, d) - POSTGRES_EPOCH_JDATE;
}

static void
range_error(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
			 errmsg("timestamp out of range")));
}

static void
interval_range_error(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
			 errmsg("interval out of range")));
}

static inline int64
add_checked(int64 a, int64 b)
{
	int64		r;

	if (pg_add_s64_overflow(a, b, &r))
		interval_range_error();
	return r;
}

/* ---- local time <-> instants ---- */

/* instant at which the calendar's wall clock shows the local timestamp */
static int64
local_to_instant(const LfCalendar *cal, int64 local)
{
	struct pg_tm tm;
	int64		d,
				secs;
	int			off;

	if (cal->fixed)
		return local - cal->fixed_off;

	d = floordiv(local, USECS_PER_DAY);
	if (d < LF_MIN_DATE || d > LF_MAX_DATE)
		range_error();
	secs = floordiv(local - d * USECS_PER_DAY, USECS_PER_SEC);
	memset(&tm, 0, sizeof(tm));
	j2date((int) (d + POSTGRES_EPOCH_JDATE), &tm.tm_year, &tm.tm_mon, &tm.tm_mday);
	tm.tm_hour = (int) (secs / SECS_PER_HOUR);
	tm.tm_min = (int) ((secs / SECS_PER_MINUTE) % MINS_PER_HOUR);
	tm.tm_sec = (int) (secs % SECS_PER_MINUTE);
	/* seconds west of UTC */
	off = DetermineTimeZoneOffset(&tm, cal->tz);
	return local + (int64) off * USECS_PER_SEC;
}

/* local wall-clock timestamp of an instant; *off gets the UTC offset (usec) */
static int64
instant_to_local(const LfCalendar *cal, int64 t, int64 *off)
{
	pg_time_t	secs;
	struct pg_tm *tm;

	if (cal->fixed)
	{
		*off = cal->fixed_off;
		return t + cal->fixed_off;
	}
	if (t >= cal->tr_lo && t < cal->tr_hi)
	{
		int			lo = 0,
					hi = cal->ntrans;

		/* number of changes at or before t */
		while (lo < hi)
		{
			int			mid = lo + (hi - lo) / 2;

			if (cal->tr_at[mid] <= t)
				lo = mid + 1;
			else
				hi = mid;
		}
		*off = lo == 0 ? cal->tr_off0 : cal->tr_off[lo - 1];
		return t + *off;
	}
	secs = (pg_time_t) floordiv(t, USECS_PER_SEC) +
		(pg_time_t) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY;
	tm = pg_localtime(&secs, cal->tz);
	if (tm == NULL)
		range_error();
	*off = (int64) tm->tm_gmtoff * USECS_PER_SEC;
	return t + *off;
}

/* ---- special dates ---- */

/* index of the first element >= key of a sorted array */
static inline int
lower_bound_i32(const int32 *a, int n, int64 key)
{
	int			lo = 0,
				hi = n;

	while (lo < hi)
	{
		int			mid = lo + (hi - lo) / 2;

		if (a[mid] < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* index of the first special date >= d */
static inline int
sp_lower(const LfCalendar *cal, int64 d)
{
	return lower_bound_i32(cal->sp_date, cal->nspecial, d);
}

/* kind bits of date d (0 when not special) */
static inline uint8
sp_kind_of(const LfCalendar *cal, int64 d)
{
	int			i = sp_lower(cal, d);

	if (i < cal->nspecial && cal->sp_date[i] == d)
		return cal->sp_kind[i];
	return 0;
}

/* is d a working day whose window may be shifted by a clock change? */
static inline bool
tz_special(const LfCalendar *cal, int64 d)
{
	if (cal->fixed)
		return false;
	if (d < cal->tz_lo || d >= cal->tz_hi)
		return true;
	return (sp_kind_of(cal, d) & SP_TZCHANGE) != 0;
}

/*
 * The exact window of date d, clipped to the day's own instants.  Returns
 * false when it is empty.  Does not look at workdays or holidays.
 */
static bool
exact_window(const LfCalendar *cal, int64 d, int64 *s, int64 *e)
{
	int64		base = d * USECS_PER_DAY;
	int64		i0 = local_to_instant(cal, base);
	int64		i1 = local_to_instant(cal, base + USECS_PER_DAY);
	int64		ws = local_to_instant(cal, base + cal->day_start);
	int64		we = (cal->day_end == USECS_PER_DAY) ? i1 :
		local_to_instant(cal, base + cal->day_end);

	*s = Max(ws, i0);
	*e = Min(we, i1);
	return *e > *s;
}

/*
 * Working window of date d as instants [*s, *e]; false when d has no working
 * time.  hint_off, if not NULL, is the UTC offset at some instant of date d;
 * on dates without a clock change it is the offset of the whole day.
 */
static bool
day_window(const LfCalendar *cal, int64 d, const int64 *hint_off,
		   int64 *s, int64 *e)
{
	int64		base;
	uint8		kind;

	if (!is_workday(cal, d))
		return false;
	kind = sp_kind_of(cal, d);
	if (kind & SP_HOLIDAY)
		return false;
	base = d * USECS_PER_DAY;
	if (cal->fixed)
	{
		*s = base + cal->day_start - cal->fixed_off;
		*e = base + cal->day_end - cal->fixed_off;
		return true;
	}
	if (tz_special(cal, d))
		return exact_window(cal, d, s, e);
	if (hint_off)
	{
		*s = base + cal->day_start - *hint_off;
		*e = base + cal->day_end - *hint_off;
	}
	else
	{
		*s = local_to_instant(cal, base + cal->day_start);
		*e = *s + cal->nominal;
	}
	return true;
}

/* work of one date computed exactly (0 on non-working days and holidays) */
static int64
exact_work(const LfCalendar *cal, int64 d)
{
	int64		s,
				e;

	if (!is_workday(cal, d) || (sp_kind_of(cal, d) & SP_HOLIDAY))
		return 0;
	return exact_window(cal, d, &s, &e) ? e - s : 0;
}

static int
cmp_int32(const void *a, const void *b)
{
	int32		x = *(const int32 *) a,
				y = *(const int32 *) b;

	return (x > y) - (x < y);
}

/*
 * The first change of UTC offset after t: false when there is none.
 *
 * Past the end of its transition table PostgreSQL repeats a zone's rules in
 * 400-year cycles, and pg_next_dst_boundary() reports "no further change"
 * when t is exactly the table's last change moved by whole cycles (the autumn
 * change of 2369, 2769, ... in Europe/Berlin).  Asking again one second later
 * finds the changes after it; only when that finds nothing either is there
 * really none.
 */
static bool
next_tz_change(const pg_tz *tz, pg_time_t t, pg_time_t *boundary,
			   long int *before_off, long int *after_off)
{
	pg_time_t	probe = t;
	int			before_dst,
				after_dst,
				attempt;

	for (attempt = 0; attempt < 2; attempt++)
	{
		if (pg_next_dst_boundary(&probe, before_off, &before_dst, boundary,
								 after_off, &after_dst, tz) == 1 &&
			*boundary > t)
			return true;
		probe = t + 1;
	}
	return false;
}

/*
 * Dates in [x1, x2) on which the zone changes its UTC offset (or next to such
 * a change), sorted and without duplicates.  Allocated in the current context.
 */
static int32 *
tz_change_dates(const LfCalendar *cal, int64 x1, int64 x2, int *n)
{
	const int64 shift = (int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE);
	pg_time_t	t = (pg_time_t) ((Max(x1 - 2, LF_MIN_DATE) + shift) * SECS_PER_DAY);
	pg_time_t	t_end = (pg_time_t) ((Min(x2 + 2, LF_MAX_DATE) + shift) * SECS_PER_DAY);
	int			cap = 64,
				cnt = 0,
				i,
				out;
	int32	   *dates = palloc(cap * sizeof(int32));

	*n = 0;
	if (cal->fixed || x1 >= x2)
		return dates;

	for (;;)
	{
		long int	before_off,
					after_off;
		pg_time_t	boundary;
		int64		cand[4];
		int			k;

		if (!next_tz_change(cal->tz, t, &boundary, &before_off, &after_off) ||
			boundary > t_end)
			break;
		cand[0] = floordiv(boundary - 1 + before_off, SECS_PER_DAY) - shift;
		cand[1] = cand[0] - 1;
		cand[2] = floordiv(boundary + after_off, SECS_PER_DAY) - shift;
		cand[3] = cand[2] - 1;
		for (k = 0; k < 4; k++)
		{
			if (cand[k] < x1 || cand[k] >= x2)
				continue;
			if (cnt >= cap)
			{
				cap *= 2;
				dates = repalloc(dates, cap * sizeof(int32));
			}
			dates[cnt++] = (int32) cand[k];
		}
		t = boundary;
		CHECK_FOR_INTERRUPTS();
	}

	qsort(dates, cnt, sizeof(int32), cmp_int32);
	for (i = 0, out = 0; i < cnt; i++)
		if (out == 0 || dates[out - 1] != dates[i])
			dates[out++] = dates[i];
	*n = out;
	return dates;
}

/* sum of (work - nominal) over clock-change dates in [x1, x2) not precomputed */
static int64
live_tz_adjust(const LfCalendar *cal, int64 x1, int64 x2)
{
	int			n,
				i;
	int32	   *dates;
	int64		sum = 0;

	if (cal->fixed || x1 >= x2)
		return 0;
	dates = tz_change_dates(cal, x1, x2, &n);
	for (i = 0; i < n; i++)
	{
		int64		d = dates[i];

		if (!is_workday(cal, d) || (sp_kind_of(cal, d) & SP_HOLIDAY))
			continue;
		sum += exact_work(cal, d) - cal->nominal;
	}
	pfree(dates);
	return sum;
}

/*
 * Clock changes from tz_hi on.  Past its transition table PostgreSQL repeats
 * a zone's rules every 400 years (PostgreSQL's localtime.c), and 400
 * Gregorian years are a whole number of weeks, so the working time that
 * clock changes add or remove is the same in every 400-year cycle.  The first
 * time a calendar is used after 2200 we walk two cycles from tz_hi: when the
 * second repeats the first, the first is kept with prefix sums and any range
 * after tz_hi costs two binary searches (plus its holidays); otherwise (a
 * zone that still changes irregularly after 2200) the changes are walked.
 */

/* work - nominal of working weekday d from its window alone, holidays aside */
static int64
window_adjust(const LfCalendar *cal, int64 d)
{
	int64		s,
				e;

	if (!is_workday(cal, d))
		return 0;
	return (exact_window(cal, d, &s, &e) ? e - s : 0) - cal->nominal;
}

/* fill the cyc_* fields of a calendar with a zone (in cal_context) */
static void
build_cycle(LfCalendar *cal)
{
	int			n,
				i,
				n1 = 0,
				n2 = 0;
	int32	   *dates = tz_change_dates(cal, cal->tz_hi,
										cal->tz_hi + 2 * LF_CYCLE_DAYS, &n);
	int32	   *day = palloc(Max(n, 1) * sizeof(int32));
	int64	   *adj = palloc(Max(n, 1) * sizeof(int64));
	bool		periodic = true;
	MemoryContext old;

	/* the first cycle, dates that change the working time only */
	for (i = 0; i < n && dates[i] < cal->tz_hi + LF_CYCLE_DAYS; i++)
	{
		int64		a = window_adjust(cal, dates[i]);

		if (a != 0)
		{
			day[n1] = (int32) (dates[i] - cal->tz_hi);
			adj[n1++] = a;
		}
	}
	/* the second must repeat it */
	for (; i < n && periodic; i++)
	{
		int64		a = window_adjust(cal, dates[i]);

		if (a == 0)
			continue;
		if (n2 >= n1 || dates[i] - cal->tz_hi - LF_CYCLE_DAYS != day[n2] ||
			a != adj[n2])
			periodic = false;
		n2++;
	}
	if (n2 != n1)
		periodic = false;

	if (periodic)
	{
		old = MemoryContextSwitchTo(cal_context);
		cal->cyc_day = palloc(Max(n1, 1) * sizeof(int32));
		cal->cyc_adj = palloc(Max(n1, 1) * sizeof(int64));
		cal->cyc_prefix = palloc((n1 + 1) * sizeof(int64));
		MemoryContextSwitchTo(old);
		cal->cyc_prefix[0] = 0;
		for (i = 0; i < n1; i++)
		{
			cal->cyc_day[i] = day[i];
			cal->cyc_adj[i] = adj[i];
			cal->cyc_prefix[i + 1] = cal->cyc_prefix[i] + adj[i];
		}
		cal->ncyc = n1;
	}
	pfree(dates);
	pfree(day);
	pfree(adj);
	/* set last: an error above leaves the calendar as it was */
	cal->cyc_state = periodic ? 1 : -1;
}

/* index of the first cycle entry whose day is >= r */
static inline int
cyc_lower(const LfCalendar *cal, int64 r)
{
	return lower_bound_i32(cal->cyc_day, cal->ncyc, r);
}

/* sum of cyc_adj over the dates [tz_hi, x), x >= tz_hi */
static inline int64
cycle_sum(const LfCalendar *cal, int64 x)
{
	int64		off = x - cal->tz_hi;

	return (off / LF_CYCLE_DAYS) * cal->cyc_prefix[cal->ncyc] +
		cal->cyc_prefix[cyc_lower(cal, off % LF_CYCLE_DAYS)];
}

/* sum of (work - nominal) over clock-change dates in [x1, x2), tz_hi <= x1 */
static int64
future_tz_adjust(const LfCalendar *cal, int64 x1, int64 x2)
{
	int64		sum;
	int			i;

	if (cal->fixed || x1 >= x2)
		return 0;
	if (cal->cyc_state == 0)
		build_cycle((LfCalendar *) cal);	/* a cache field, filled once */
	if (cal->cyc_state < 0)
		return live_tz_adjust(cal, x1, x2);

	sum = cycle_sum(cal, x2) - cycle_sum(cal, x1);
	/* a holiday has no working time that a clock change could shift */
	for (i = sp_lower(cal, x1); i < cal->nspecial && cal->sp_date[i] < x2; i++)
	{
		int64		r = (cal->sp_date[i] - cal->tz_hi) % LF_CYCLE_DAYS;
		int			j = cyc_lower(cal, r);

		if ((cal->sp_kind[i] & SP_HOLIDAY) && j < cal->ncyc &&
			cal->cyc_day[j] == r)
			sum -= cal->cyc_adj[j];
	}
	return sum;
}

/* number of working weekdays among the dates [d1, d2), d1 <= d2 */
static inline int64
count_workdays(const LfCalendar *cal, int64 d1, int64 d2)
{
	int64		n = d2 - d1;
	int64		weeks = n / 7;
	int64		cnt = weeks * cal->nworkdays;
	int64		d;

	for (d = d1 + weeks * 7; d < d2; d++)
		if (is_workday(cal, d))
			cnt++;
	return cnt;
}

/*
 * Working time of the whole dates [d1, d2) into *work; false when it does not
 * fit in 64 bits (only spans of hundreds of thousands of years come close).
 */
static bool
range_work_ok(const LfCalendar *cal, int64 d1, int64 d2, int64 *work)
{
	int64		adj,
				sum;

	*work = 0;
	if (d2 <= d1)
		return true;
	/* holidays and clock changes: at most a day's work per date each */
	adj = cal->sp_prefix[sp_lower(cal, d2)] - cal->sp_prefix[sp_lower(cal, d1)];
	if (!cal->fixed)
	{
		if (d1 < cal->tz_lo)
			adj += live_tz_adjust(cal, d1, Min(d2, cal->tz_lo));
		if (d2 > cal->tz_hi)
			adj += future_tz_adjust(cal, Max(d1, cal->tz_hi), d2);
	}
	if (pg_mul_s64_overflow(cal->nominal, count_workdays(cal, d1, d2), &sum) ||
		pg_add_s64_overflow(sum, adj, &sum))
		return false;
	*work = sum;
	return true;
}

/* working time of the whole dates [d1, d2); 22008 when it does not fit */
static int64
range_work(const LfCalendar *cal, int64 d1, int64 d2)
{
	int64		work;

	if (!range_work_ok(cal, d1, d2, &work))
		interval_range_error();
	return work;
}

/* is the working time of the whole dates [d1, d2) at least rem? */
static inline bool
range_work_reaches(const LfCalendar *cal, int64 d1, int64 d2, int64 rem)
{
	int64		work;

	/* more than fits in 64 bits is more than any rem */
	return !range_work_ok(cal, d1, d2, &work) || work >= rem;
}

/* ---- the cache ---- */

static void
calendar_cache_reset(void)
{
	cal_valid = false;
}

static uint32
cal_key_hash(const void *key, Size keysize)
{
	const char *s = *(const char *const *) key;

	return hash_bytes((const unsigned char *) s, strlen(s));
}

static int
cal_key_match(const void *k1, const void *k2, Size keysize)
{
	return strcmp(*(const char *const *) k1, *(const char *const *) k2);
}

static void
calendar_cache_prepare(void)
{
	HASHCTL		ctl;

	if (!cal_registered)
	{
		lf_register_cache(&cal_relid, calendar_cache_reset);
		lf_register_cache(&hol_relid, calendar_cache_reset);
		cal_registered = true;
	}
	if (cal_valid && cal_hash != NULL)
		return;

	if (cal_context == NULL)
		cal_context = AllocSetContextCreate(CacheMemoryContext,
											"lead_funnel calendars",
											ALLOCSET_SMALL_SIZES);
	else
		MemoryContextReset(cal_context);
	cal_hash = NULL;
	cal_generation++;

	cal_relid = lf_relation_oid("calendar");
	hol_relid = lf_relation_oid("holiday");
	cal_valid = true;

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(char *);
	ctl.entrysize = sizeof(LfCalendar);
	ctl.hash = cal_key_hash;
	ctl.match = cal_key_match;
	ctl.hcxt = cal_context;
	cal_hash = hash_create("lead_funnel calendars", 16, &ctl,
						   HASH_ELEM | HASH_FUNCTION | HASH_COMPARE | HASH_CONTEXT);
}

/* checks shared by the write trigger and the loader */
static void
check_calendar_fields(const char *name, const char *tzname, ArrayType *workdays,
					  TimeADT day_start, TimeADT day_end,
					  pg_tz **tz_out, uint8 *mask_out)
{
	pg_tz	   *tz;
	Datum	   *elems;
	bool	   *nulls;
	int			n,
				i;
	uint8		mask = 0;

	tz = (tzname[0] != '\0') ? pg_tzset(tzname) : NULL;
	if (tz == NULL || !pg_tz_acceptable(tz))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("time zone \"%s\" not recognized", tzname),
				 errdetail("Calendar \"%s\" needs a time zone name such as \"Europe/Berlin\" or \"UTC\".", name)));

	if (ARR_NDIM(workdays) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_CHECK_VIOLATION),
				 errmsg("workdays of calendar \"%s\" must be a one-dimensional array", name)));
	deconstruct_array(workdays, INT4OID, sizeof(int32), true, TYPALIGN_INT,
					  &elems, &nulls, &n);
	if (n == 0)
		ereport(ERROR,
				(errcode(ERRCODE_CHECK_VIOLATION),
				 errmsg("workdays of calendar \"%s\" must not be empty", name),
				 errhint("List the ISO weekdays that are worked, 1 = Monday to 7 = Sunday, e.g. '{1,2,3,4,5}'.")));
	for (i = 0; i < n; i++)
	{
		int32		wd;

		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_CHECK_VIOLATION),
					 errmsg("workdays of calendar \"%s\" must not contain NULL", name)));
		wd = DatumGetInt32(elems[i]);
		if (wd < 1 || wd > 7)
			ereport(ERROR,
					(errcode(ERRCODE_CHECK_VIOLATION),
					 errmsg("workday %d of calendar \"%s\" is out of range", wd, name),
					 errhint("Workdays are ISO weekdays, 1 = Monday to 7 = Sunday.")));
		if (mask & (1 << (wd - 1)))
			ereport(ERROR,
					(errcode(ERRCODE_CHECK_VIOLATION),
					 errmsg("workday %d appears more than once in calendar \"%s\"", wd, name)));
		mask |= 1 << (wd - 1);
	}

	if (day_end <= day_start)
		ereport(ERROR,
				(errcode(ERRCODE_CHECK_VIOLATION),
				 errmsg("day_end must be later than day_start in calendar \"%s\"", name),
				 errdetail("day_start is %s, day_end is %s.",
						   DatumGetCString(DirectFunctionCall1(time_out, TimeADTGetDatum(day_start))),
						   DatumGetCString(DirectFunctionCall1(time_out, TimeADTGetDatum(day_end)))),
				 errhint("A working day cannot span midnight; use 00:00 to 24:00 for a whole day.")));

	if (tz_out)
		*tz_out = tz;
	if (mask_out)
		*mask_out = mask;
}

static int
popcount8(uint8 m)
{
	int			c = 0;

	for (; m; m &= m - 1)
		c++;
	return c;
}

/*
 * Record the offset changes between tz_lo and tz_hi (with two days to
 * spare) so that instant_to_local() is a binary search there.
 */
static void
build_transitions(LfCalendar *cal)
{
	const int64 shift = (int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE);
	pg_time_t	t = (pg_time_t) ((cal->tz_lo - 2 + shift) * SECS_PER_DAY);
	pg_time_t	t_end = (pg_time_t) ((cal->tz_hi + 2 + shift) * SECS_PER_DAY);
	struct pg_tm *tm;
	int			cap = 64;
	MemoryContext old = MemoryContextSwitchTo(cal_context);

	cal->ntrans = 0;
	cal->tr_at = palloc(cap * sizeof(int64));
	cal->tr_off = palloc(cap * sizeof(int64));
	MemoryContextSwitchTo(old);

	tm = pg_localtime(&t, cal->tz);
	if (tm == NULL)
		return;					/* tr_lo = tr_hi = 0: never used */
	cal->tr_off0 = (int64) tm->tm_gmtoff * USECS_PER_SEC;
	cal->tr_lo = (int64) (t - shift * SECS_PER_DAY) * USECS_PER_SEC;
	cal->tr_hi = (int64) (t_end - shift * SECS_PER_DAY) * USECS_PER_SEC;
	for (;;)
	{
		long int	before_off,
					after_off;
		pg_time_t	boundary;

		if (!next_tz_change(cal->tz, t, &boundary, &before_off, &after_off) ||
			boundary >= t_end)
			break;
		if (cal->ntrans >= cap)
		{
			cap *= 2;
			cal->tr_at = repalloc(cal->tr_at, cap * sizeof(int64));
			cal->tr_off = repalloc(cal->tr_off, cap * sizeof(int64));
		}
		cal->tr_at[cal->ntrans] = (int64) (boundary - shift * SECS_PER_DAY) * USECS_PER_SEC;
		cal->tr_off[cal->ntrans] = (int64) after_off * USECS_PER_SEC;
		cal->ntrans++;
		t = boundary;
	}
}

/* build the special-date arrays of a calendar (in cal_context) */
static void
build_special(LfCalendar *cal, int32 *hol, int nhol)
{
	int32	   *tzd;
	int			ntz = 0,
				i,
				j,
				n = 0;
	MemoryContext old;

	cal->tz_lo = date_of_ymd(LF_TZ_FROM_YEAR, 1, 1);
	cal->tz_hi = date_of_ymd(LF_TZ_TO_YEAR, 1, 1);
	/* sp_kind_of() must see the holidays while we compute exact work */
	cal->nspecial = nhol;
	cal->sp_date = hol;
	cal->sp_kind = palloc(Max(nhol, 1));
	memset(cal->sp_kind, SP_HOLIDAY, Max(nhol, 1));

	tzd = cal->fixed ? NULL : tz_change_dates(cal, cal->tz_lo, cal->tz_hi, &ntz);
	if (!cal->fixed)
		build_transitions(cal);

	old = MemoryContextSwitchTo(cal_context);
	{
		int			cap = nhol + ntz + 1;
		int32	   *dates = palloc(cap * sizeof(int32));
		uint8	   *kinds = palloc(cap);
		int64	   *prefix = palloc((cap + 1) * sizeof(int64));

		prefix[0] = 0;
		i = j = 0;
		while (i < nhol || j < ntz)
		{
			int32		d;
			uint8		k = 0;
			int64		adj = 0;

			if (j >= ntz || (i < nhol && hol[i] <= tzd[j]))
				d = hol[i];
			else
				d = tzd[j];
			if (i < nhol && hol[i] == d)
			{
				k |= SP_HOLIDAY;
				i++;
			}
			if (j < ntz && tzd[j] == d)
			{
				k |= SP_TZCHANGE;
				j++;
			}
			if (!is_workday(cal, d))
				continue;
			if (k & SP_HOLIDAY)
				adj = -cal->nominal;
			else
				adj = exact_work(cal, d) - cal->nominal;
			dates[n] = d;
			kinds[n] = k;
			prefix[n + 1] = prefix[n] + adj;
			n++;
		}
		cal->sp_date = dates;
		cal->sp_kind = kinds;
		cal->sp_prefix = prefix;
		cal->nspecial = n;
	}
	MemoryContextSwitchTo(old);
}

/* load one calendar with SPI; NULL when it does not exist */
static LfCalendar *
load_calendar(const char *name, LfCalendar *cal)
{
	Datum		arg = CStringGetTextDatum(name);
	bool		isnull;
	HeapTuple	tup;
	TupleDesc	desc;
	char	   *tzname;
	ArrayType  *workdays;
	TimeADT		day_start,
				day_end;
	uint64		i;
	int32	   *hol;
	int			nhol;
	MemoryContext old;
	long int	gmtoff;
	bool		found = false;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	if (cal_plan == NULL)
	{
		Oid			argtypes[1] = {TEXTOID};
		SPIPlanPtr	p;

		p = SPI_prepare("SELECT time_zone, workdays, day_start, day_end "
						"FROM lead_funnel.calendar "
						"WHERE name OPERATOR(pg_catalog.=) $1", 1, argtypes);
		if (p == NULL)
			elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
		SPI_keepplan(p);
		cal_plan = p;
		p = SPI_prepare("SELECT day FROM lead_funnel.holiday "
						"WHERE calendar OPERATOR(pg_catalog.=) $1 ORDER BY day",
						1, argtypes);
		if (p == NULL)
			elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
		SPI_keepplan(p);
		hol_plan = p;
	}

	if (SPI_execute_plan(cal_plan, &arg, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read lead_funnel.calendar");
	if (SPI_processed == 1)
	{
		found = true;
		tup = SPI_tuptable->vals[0];
		desc = SPI_tuptable->tupdesc;
		tzname = TextDatumGetCString(SPI_getbinval(tup, desc, 1, &isnull));
		workdays = DatumGetArrayTypeP(SPI_getbinval(tup, desc, 2, &isnull));
		day_start = DatumGetTimeADT(SPI_getbinval(tup, desc, 3, &isnull));
		day_end = DatumGetTimeADT(SPI_getbinval(tup, desc, 4, &isnull));

		memset(cal, 0, sizeof(*cal));
		check_calendar_fields(name, tzname, workdays, day_start, day_end,
							  &cal->tz, &cal->workmask);
		cal->nworkdays = popcount8(cal->workmask);
		cal->day_start = day_start;
		cal->day_end = day_end;
		cal->nominal = day_end - day_start;
		cal->fixed = pg_get_timezone_offset(cal->tz, &gmtoff);
		cal->fixed_off = cal->fixed ? (int64) gmtoff * USECS_PER_SEC : 0;

		if (SPI_execute_plan(hol_plan, &arg, NULL, true, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not read lead_funnel.holiday");
		nhol = (int) SPI_processed;
		hol = palloc(Max(nhol, 1) * sizeof(int32));
		for (i = 0; i < SPI_processed; i++)
			hol[i] = DatumGetDateADT(SPI_getbinval(SPI_tuptable->vals[i],
												   SPI_tuptable->tupdesc, 1, &isnull));
		build_special(cal, hol, nhol);

		old = MemoryContextSwitchTo(cal_context);
		cal->name = pstrdup(name);
		MemoryContextSwitchTo(old);
	}
	SPI_finish();
	return found ? cal : NULL;
}

/* the cached calendar of that name; ereports when it does not exist */
static LfCalendar *
lookup_calendar(const char *name)
{
	LfCalendar *cal;
	LfCalendar	tmp;
	bool		found;

	calendar_cache_prepare();
	cal = hash_search(cal_hash, &name, HASH_FIND, NULL);
	if (cal)
		return cal;

	if (load_calendar(name, &tmp) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("calendar \"%s\" does not exist", name),
				 errhint("Calendars are rows of lead_funnel.calendar.")));

	/*
	 * Loading may have processed an invalidation; the entry is then still
	 * good for this call and the next lookup rebuilds the cache.
	 */
	cal = hash_search(cal_hash, &tmp.name, HASH_ENTER, &found);
	if (!found)
		*cal = tmp;
	return cal;
}

/* per-call-site memo of the last calendar used */
typedef struct CalMemo
{
	uint64		generation;
	LfCalendar *cal;
	text	   *name;
} CalMemo;

static LfCalendar *
calendar_from_arg(FunctionCallInfo fcinfo, int argno)
{
	text	   *name = PG_GETARG_TEXT_PP(argno);
	CalMemo    *memo = (CalMemo *) fcinfo->flinfo->fn_extra;
	char	   *cname;

	if (memo != NULL && memo->cal != NULL &&
		memo->generation == cal_generation && cal_valid &&
		VARSIZE_ANY_EXHDR(memo->name) == VARSIZE_ANY_EXHDR(name) &&
		memcmp(VARDATA_ANY(memo->name), VARDATA_ANY(name),
			   VARSIZE_ANY_EXHDR(name)) == 0)
		return memo->cal;

	cname = text_to_cstring(name);
	if (memo == NULL)
	{
		memo = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(CalMemo));
		fcinfo->flinfo->fn_extra = memo;
	}
	memo->cal = NULL;
	if (memo->name)
		pfree(memo->name);
	memo->name = NULL;
	memo->cal = lookup_calendar(cname);
	memo->generation = cal_generation;
	{
		Size		len = VARSIZE_ANY_EXHDR(name);
		text	   *t = (text *) MemoryContextAlloc(fcinfo->flinfo->fn_mcxt,
												len + VARHDRSZ);

		SET_VARSIZE(t, len + VARHDRSZ);
		memcpy(VARDATA(t), VARDATA_ANY(name), len);
		memo->name = t;
	}
	pfree(cname);
	return memo->cal;
}

/* ---- business time ---- */

static inline int64
overlap(int64 s, int64 e, int64 a, int64 b)
{
	int64		lo = Max(s, a),
				hi = Min(e, b);

	return hi > lo ? hi - lo : 0;
}

static void
check_finite(TimestampTz t)
{
	if (TIMESTAMP_NOT_FINITE(t))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("business time cannot be computed for infinite timestamps")));
}

/* working time in [a, b], a <= b, in microseconds */
static int64
business_usec(const LfCalendar *cal, int64 a, int64 b)
{
	int64		oa,
				ob,
				da,
				db,
				lo_first,
				hi_first,
				d,
				s,
				e,
				sum = 0;

	da = floordiv(instant_to_local(cal, a, &oa), USECS_PER_DAY);
	db = floordiv(instant_to_local(cal, b, &ob), USECS_PER_DAY);

	/*
	 * Around a clock change the window of the previous date may reach past
	 * the instant; look at it individually then.
	 */
	lo_first = tz_special(cal, da) ? da - 1 : da;
	hi_first = tz_special(cal, db) ? db - 1 : db;
	if (hi_first < da + 1)
		hi_first = da + 1;

	for (d = lo_first; d <= da; d++)
		if (day_window(cal, d, d == da ? &oa : NULL, &s, &e))
			sum += overlap(s, e, a, b);
	sum = add_checked(sum, range_work(cal, da + 1, hi_first));
	for (d = hi_first; d <= db; d++)
		if (day_window(cal, d, d == db ? &ob : NULL, &s, &e))
			sum = add_checked(sum, overlap(s, e, a, b));
	return sum;
}

/* business_time(a, b) in microseconds, negative when b < a */
static int64
business_time_usec(const LfCalendar *cal, TimestampTz a, TimestampTz b)
{
	check_finite(a);
	check_finite(b);
	if (b >= a)
		return business_usec(cal, a, b);
	return -business_usec(cal, b, a);
}

/* amount of an interval in microseconds (days count as 24 hours) */
static int64
amount_usec(const Interval *amount)
{
	int64		r;

	if (amount->month != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("business time amount must not contain months or years"),
				 errhint("Give the amount in hours, minutes and seconds, e.g. interval '16 hours'.")));
	if (pg_mul_s64_overflow((int64) amount->day, USECS_PER_DAY, &r) ||
		pg_add_s64_overflow(r, amount->time, &r))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("interval out of range")));
	return r;
}

static TimestampTz
checked_result(int64 t)
{
	if (!IS_VALID_TIMESTAMP(t))
		range_error();
	return (TimestampTz) t;
}

/*
 * First gallop step of business_add: the dates of the weeks that rem would
 * fill at the nominal rate, never more than the whole date range.
 */
static inline int64
gallop_start(int64 rem, int64 weekly)
{
	int64		weeks = Min(rem / weekly, (LF_MAX_DATE - LF_MIN_DATE) / 7);

	return (weeks + 1) * 7;
}

/* earliest instant t >= a with business_usec(a, t) = rem (rem > 0) */
static TimestampTz
business_add_forward(const LfCalendar *cal, int64 a, int64 rem)
{
	int64		oa,
				da,
				d,
				s,
				e,
				lo,
				hi,
				step,
				weekly;

	da = floordiv(instant_to_local(cal, a, &oa), USECS_PER_DAY);
	for (d = tz_special(cal, da) ? da - 1 : da; d <= da; d++)
	{
		if (day_window(cal, d, d == da ? &oa : NULL, &s, &e) && e > a)
		{
			int64		from = Max(s, a);

			if (rem <= e - from)
				return checked_result(from + rem);
			rem -= e - from;
		}
	}

	/* whole dates from da + 1: gallop to a date by which rem is used up */
	d = da + 1;
	weekly = cal->nominal * cal->nworkdays;
	step = gallop_start(rem, weekly);
	for (;;)
	{
		hi = d + step;
		if (hi > LF_MAX_DATE)
			hi = LF_MAX_DATE;
		if (range_work_reaches(cal, d, hi, rem))
			break;
		if (hi == LF_MAX_DATE)
			range_error();
		step *= 2;
		CHECK_FOR_INTERRUPTS();
	}
	/* smallest date e_ in [d, hi) with range_work(d, e_ + 1) >= rem */
	lo = d;
	hi = hi - 1;
	while (lo < hi)
	{
		int64		mid = lo + (hi - lo) / 2;

		if (range_work_reaches(cal, d, mid + 1, rem))
			hi = mid;
		else
			lo = mid + 1;
	}
	rem -= range_work(cal, d, lo);
	if (!day_window(cal, lo, NULL, &s, &e) || rem > e - s)
		elog(ERROR, "business_add lost its way on date %lld", (long long) lo);
	return checked_result(s + rem);
}

/* latest instant t <= a with business_usec(t, a) = rem (rem > 0) */
static TimestampTz
business_add_backward(const LfCalendar *cal, int64 a, int64 rem)
{
	int64		oa,
				da,
				d,
				s,
				e,
				lo,
				hi,
				step,
				weekly,
				last;

	da = floordiv(instant_to_local(cal, a, &oa), USECS_PER_DAY);
	last = tz_special(cal, da) ? da - 1 : da;
	for (d = da; d >= last; d--)
	{
		if (day_window(cal, d, d == da ? &oa : NULL, &s, &e) && s < a)
		{
			int64		to = Min(e, a);

			if (rem <= to - s)
				return checked_result(to - rem);
			rem -= to - s;
		}
	}

	/* whole dates before `last`: gallop back */
	d = last;					/* exclusive upper end */
	weekly = cal->nominal * cal->nworkdays;
	step = gallop_start(rem, weekly);
	for (;;)
	{
		lo = d - step;
		if (lo < LF_MIN_DATE)
			lo = LF_MIN_DATE;
		if (range_work_reaches(cal, lo, d, rem))
			break;
		if (lo == LF_MIN_DATE)
			range_error();
		step *= 2;
		CHECK_FOR_INTERRUPTS();
	}
	/* largest date e_ in [lo, d) with range_work(e_, d) >= rem */
	hi = d - 1;
	while (lo < hi)
	{
		int64		mid = hi - (hi - lo) / 2;

		if (range_work_reaches(cal, mid, d, rem))
			lo = mid;
		else
			hi = mid - 1;
	}
	rem -= range_work(cal, lo + 1, d);
	if (!day_window(cal, lo, NULL, &s, &e) || rem > e - s)
		elog(ERROR, "business_add lost its way on date %lld", (long long) lo);
	return checked_result(e - rem);
}

static TimestampTz
business_add_internal(const LfCalendar *cal, TimestampTz from, int64 amount)
{
	check_finite(from);
	if (amount == 0)
		return from;
	if (amount > 0)
		return business_add_forward(cal, from, amount);
	if (amount == PG_INT64_MIN)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("interval out of range")));
	return business_add_backward(cal, from, -amount);
}

static Interval *
usec_interval(int64 usec)
{
	Interval   *r = palloc(sizeof(Interval));

	r->month = 0;
	r->day = 0;
	r->time = usec;
	return r;
}

/* ---- C API for the other parts of lead_funnel ---- */

/*
 * The last sum, kept: the leads of one CRM statement enter their stage at
 * the same instant, so their SLA due times are one computation.  Valid for
 * the calendar cache generation it was computed with.
 */
static struct
{
	bool		valid;
	uint64		generation;
	char		calendar[NAMEDATALEN];
	TimestampTz from;
	Interval	amount;
	TimestampTz result;
}			add_memo;

TimestampTz
lf_business_add(const char *calendar, TimestampTz from, const Interval *amount)
{
	TimestampTz result;

	if (add_memo.valid && cal_valid && add_memo.generation == cal_generation &&
		add_memo.from == from && add_memo.amount.time == amount->time &&
		add_memo.amount.day == amount->day && add_memo.amount.month == amount->month &&
		strcmp(add_memo.calendar, calendar) == 0)
		return add_memo.result;
	result = business_add_internal(lookup_calendar(calendar), from, amount_usec(amount));
	add_memo.valid = strlen(calendar) < NAMEDATALEN;
	if (add_memo.valid)
	{
		add_memo.generation = cal_generation;
		strcpy(add_memo.calendar, calendar);
		add_memo.from = from;
		add_memo.amount = *amount;
		add_memo.result = result;
	}
	return result;
}

Interval *
lf_business_time(const char *calendar, TimestampTz from, TimestampTz to)
{
	return usec_interval(business_time_usec(lookup_calendar(calendar), from, to));
}

/* ---- SQL functions ---- */

PG_FUNCTION_INFO_V1(lf_business_time_sql);

Datum
lf_business_time_sql(PG_FUNCTION_ARGS)
{
	TimestampTz from = PG_GETARG_TIMESTAMPTZ(0);
	TimestampTz to = PG_GETARG_TIMESTAMPTZ(1);
	LfCalendar *cal = calendar_from_arg(fcinfo, 2);

	PG_RETURN_INTERVAL_P(usec_interval(business_time_usec(cal, from, to)));
}

PG_FUNCTION_INFO_V1(lf_business_add_sql);

Datum
lf_business_add_sql(PG_FUNCTION_ARGS)
{
	TimestampTz from = PG_GETARG_TIMESTAMPTZ(0);
	Interval   *amount = PG_GETARG_INTERVAL_P(1);
	int64		usec = amount_usec(amount);
	LfCalendar *cal = calendar_from_arg(fcinfo, 2);

	PG_RETURN_TIMESTAMPTZ(business_add_internal(cal, from, usec));
}

PG_FUNCTION_INFO_V1(lf_is_valid_time_zone);

/* is the name a time zone that calendars (and SET timezone) accept? */
Datum
lf_is_valid_time_zone(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	pg_tz	   *tz;

	if (name[0] == '\0')
		PG_RETURN_BOOL(false);
	tz = pg_tzset(name);
	PG_RETURN_BOOL(tz != NULL && pg_tz_acceptable(tz));
}

PG_FUNCTION_INFO_V1(lf_calendar_check);

/*
 * BEFORE INSERT OR UPDATE ... FOR EACH ROW on lead_funnel.calendar: reject a
 * calendar that business_time() could not use, when it is written.  NULLs
 * are left to the NOT NULL constraints.
 */
Datum
lf_calendar_check(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	HeapTuple	tup;
	TupleDesc	desc;
	bool		n1,
				n2,
				n3,
				n4,
				n5;
	Datum		name,
				tzname,
				workdays,
				day_start,
				day_end;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) ||
		!TRIGGER_FIRED_BEFORE(trigdata->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function \"lf_calendar_check\" must be called as a BEFORE ROW trigger")));

	tup = TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event) ?
		trigdata->tg_newtuple : trigdata->tg_trigtuple;
	desc = trigdata->tg_relation->rd_att;

	name = SPI_getbinval(tup, desc, SPI_fnumber(desc, "name"), &n1);
	tzname = SPI_getbinval(tup, desc, SPI_fnumber(desc, "time_zone"), &n2);
	workdays = SPI_getbinval(tup, desc, SPI_fnumber(desc, "workdays"), &n3);
	day_start = SPI_getbinval(tup, desc, SPI_fnumber(desc, "day_start"), &n4);
	day_end = SPI_getbinval(tup, desc, SPI_fnumber(desc, "day_end"), &n5);

	if (!(n1 || n2 || n3 || n4 || n5))
		check_calendar_fields(TextDatumGetCString(name),
							  TextDatumGetCString(tzname),
							  DatumGetArrayTypeP(workdays),
							  DatumGetTimeADT(day_start),
							  DatumGetTimeADT(day_end), NULL, NULL);
	else if (!n1 && !n2)
	{
		/* still report a bad time zone even if another column is NULL */
		char	   *tzs = TextDatumGetCString(tzname);
		pg_tz	   *tz = (tzs[0] != '\0') ? pg_tzset(tzs) : NULL;

		if (tz == NULL || !pg_tz_acceptable(tz))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("time zone \"%s\" not recognized", tzs)));
	}
	return PointerGetDatum(tup);
}

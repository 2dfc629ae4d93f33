-- fit scores of leads of an attached CRM table (the attributes option)
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS lead_funnel CASCADE;
CREATE EXTENSION lead_funnel;
RESET client_min_messages;
SET search_path = lead_funnel, public;
SET timezone = 'UTC';

INSERT INTO scoring_rule (model, dimension, attribute, op, value, points) VALUES
  ('default', 'fit', 'employees', '>=', '50', 15),
  ('default', 'fit', 'employees', '<=', '1000', 10),
  ('default', 'fit', 'industry', 'in', 'Maschinenbau, Chemie', 20),
  ('default', 'fit', 'title', '~*', 'einkauf', 15),
  ('default', 'fit', 'export', '=', 'true', 5);

CREATE TABLE public.crm_fit (id int PRIMARY KEY, status text, employees int, industry text, title text,
                      export bool, note text);
SELECT attach('public.crm_fit', 'id', 'status', '{"new": "prospect", "mql": "mql"}',
              '{"attributes": ["employees", "industry", "title", "export"]}');

-- 1: 15 + 10 + 20 + 15 + 5 = 65; 2 (12 employees, Handel): only <= 1000, 10;
-- 3: every attribute NULL matches no rule, 0
INSERT INTO public.crm_fit VALUES (1, 'new', 250, 'Maschinenbau', 'Einkaufsleiter', true, NULL),
                           (2, 'new', 12, 'Handel', 'Praktikant', false, NULL),
                           (3, 'new', NULL, NULL, NULL, NULL, NULL);
SELECT lead_key, fit_score FROM lead ORDER BY lead_key;
-- the score follows the attributes when they change, without a status change
UPDATE public.crm_fit SET employees = 5000 WHERE id = 1;
UPDATE public.crm_fit SET industry = 'chemie', title = 'Leitung Einkauf' WHERE id = 2;
SELECT lead_key, fit_score FROM lead ORDER BY lead_key;
-- a change of another column does not touch the lead
UPDATE public.crm_fit SET note = 'called' WHERE id = 3;
SELECT lead_key, fit_score, stage FROM lead WHERE lead_key = '3';
-- rule edits take effect for the next change
UPDATE scoring_rule SET points = 100 WHERE attribute = 'export';
UPDATE public.crm_fit SET employees = 800 WHERE id = 1;
SELECT lead_key, fit_score FROM lead WHERE lead_key = '1';
-- score() = fit + engagement now
SELECT score('1') AS score;
DROP TABLE public.crm_fit;

-- automatic MQL from the fit score: with auto_mql on, a new lead whose fit
-- reaches the threshold is handed over at once (actor scoring), and one whose
-- attributes later raise its fit too
UPDATE scoring_model SET auto_mql = true, mql_threshold = 60 WHERE model = 'default';
UPDATE scoring_rule SET points = 5 WHERE attribute = 'export';
CREATE TABLE public.crm_auto (id int PRIMARY KEY, status text, employees int, industry text, title text, export bool);
SELECT attach('public.crm_auto', 'id', 'status', '{"new": "prospect", "mql": "mql"}',
              '{"attributes": ["employees", "industry", "title", "export"], "key_prefix": "a:"}');
SET lead_funnel.event_time = '2026-03-02 10:00+00';
INSERT INTO public.crm_auto VALUES (1, 'new', 250, 'Maschinenbau', 'Einkaufsleiter', true),   -- 65
                            (2, 'new', 250, 'Handel', 'Einkaufsleiter', true);         -- 45
SET lead_funnel.event_time = '2026-03-03 10:00+00';
UPDATE public.crm_auto SET industry = 'Chemie' WHERE id = 2;                                   -- 65
RESET lead_funnel.event_time;
SELECT lead_key, stage, fit_score FROM lead WHERE lead_key LIKE 'a:%' ORDER BY lead_key;
SELECT lead_key, from_stage, to_stage, occurred_at, actor, source FROM stage_event
 WHERE lead_key LIKE 'a:%' ORDER BY lead_key, event_id;
-- the agreement does not let a prospect go to mql: the CRM write goes
-- through, the lead stays a prospect, and a warning says so
DELETE FROM transition WHERE from_stage = 'prospect' AND to_stage = 'mql';
SET lead_funnel.event_time = '2026-03-04 10:00+00';
INSERT INTO public.crm_auto VALUES (3, 'new', 250, 'Maschinenbau', 'Einkaufsleiter', true),   -- 65
                            (4, 'new', 250, 'Chemie', 'Einkaufsleiter', true);          -- 65
RESET lead_funnel.event_time;
SELECT lead_key, stage FROM lead WHERE lead_key IN ('a:3', 'a:4') ORDER BY lead_key;
INSERT INTO transition VALUES ('prospect', 'mql', false);
DROP TABLE public.crm_auto;

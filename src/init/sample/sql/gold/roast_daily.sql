-- One row per roasting day, machine and roast profile.
SELECT
  DATE(roast_start)               AS roast_date,
  roaster,
  profile,
  COUNT(*)                        AS batches,
  ROUND(SUM(charge_kg), 1)        AS green_kg,
  ROUND(SUM(yield_kg), 1)         AS roasted_kg,
  ROUND(AVG(weight_loss_pct), 2)  AS avg_weight_loss_pct,
  ROUND(AVG(first_crack_s), 0)    AS avg_first_crack_s
FROM ${catalog}.${silver_schema}.roast_batches
GROUP BY DATE(roast_start), roaster, profile

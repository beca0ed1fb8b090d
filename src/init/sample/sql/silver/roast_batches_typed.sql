-- Types the roast log and derives the weight loss (the share of the green weight
-- that left the drum as water and chaff). Substitution tokens such as the
-- catalog work in SQL files too (see sql/gold/roast_daily.sql).
SELECT
  CAST(batch_id AS BIGINT)                           AS batch_id,
  lot_id,
  roaster,
  profile,
  CAST(roast_start AS TIMESTAMP)                     AS roast_start,
  CAST(roast_end AS TIMESTAMP)                       AS roast_end,
  CAST(charge_kg AS DOUBLE)                          AS charge_kg,
  CAST(yield_kg AS DOUBLE)                           AS yield_kg,
  ROUND(100 * (1 - CAST(yield_kg AS DOUBLE) / CAST(charge_kg AS DOUBLE)), 2)
                                                     AS weight_loss_pct,
  CAST(first_crack_s AS INT)                         AS first_crack_s,
  CAST(drop_temp_c AS DOUBLE)                        AS drop_temp_c,
  _ingested_at
FROM stream(v_roasts_bronze)

SELECT
  date(started_at) AS ride_date,
  start_station,
  count(*) AS rides,
  avg(timestampdiff(MINUTE, started_at, ended_at)) AS avg_minutes
FROM ${catalog}.${silver_schema}.rides
GROUP BY date(started_at), start_station

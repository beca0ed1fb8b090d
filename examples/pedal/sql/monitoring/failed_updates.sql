-- Pipeline updates that ended in failure, newest first.
SELECT
  origin.pipeline_name,
  origin.update_id,
  MAX(`timestamp`) AS failed_at
FROM ${catalog}.ops.pipeline_events
WHERE event_type = 'update_progress'
  AND details:update_progress:state::STRING = 'FAILED'
GROUP BY origin.pipeline_name, origin.update_id
ORDER BY failed_at DESC
